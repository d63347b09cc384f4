// The same vectors through the portable engine (OpenSSL verification, @noble/curves recovery): what a machine
// without the native secp256k1 binding runs. The engine is chosen once, at first use: choose it now, then clear the
// variable so nothing else in this process sees it.
process.env.ZAPVEND_SECP256K1 = "portable";
const { signatureEngine } = await import("./crypto.js");
signatureEngine();
delete process.env.ZAPVEND_SECP256K1;
const { describeVectorSuite } = await import("./__fixtures__/vector-suite.js");
describeVectorSuite("portable");
