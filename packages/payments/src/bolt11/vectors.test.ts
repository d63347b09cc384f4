import { signatureEngine } from "./crypto.js";
import { describeVectorSuite } from "./__fixtures__/vector-suite.js";

// The default engine: libsecp256k1 wherever its native binding loads (CI on x64 has a prebuilt one), else the
// portable one; the suite's title names which ran.
describeVectorSuite(signatureEngine().name);
