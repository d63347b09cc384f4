// From the machine's config (`payments.backend` of kind "lnd" or "sim") to the LND adapter's options: the sim node
// speaks LND's REST shape, so both run the same production adapter.
import { readFile } from "node:fs/promises";
import type { PaymentsBackendConfig } from "@zapvend/protocol";
import { PaymentError, PaymentErrorCode } from "../errors.js";
import type { LndBackendOptions } from "./lnd.js";

type LndLikeConfig = Extract<PaymentsBackendConfig, { kind: "lnd" | "sim" }>;

/** Reads the macaroon (binary file, as LND writes it) and the TLS certificate to pin from the paths in the config. */
export async function lndOptionsFromConfig(cfg: LndLikeConfig): Promise<LndBackendOptions> {
  if (cfg.kind === "sim") return { url: cfg.url, kind: "sim" };
  const read = async (path: string, what: string) => {
    try {
      return await readFile(path);
    } catch (err) {
      throw new PaymentError(PaymentErrorCode.BAD_REQUEST, `cannot read the ${what} at ${path}: ${(err as Error).message}`);
    }
  };
  const macaroonHex = cfg.macaroonHex ?? (cfg.macaroonPath ? (await read(cfg.macaroonPath, "macaroon")).toString("hex") : undefined);
  const tlsCertPem = cfg.tlsCertPath ? (await read(cfg.tlsCertPath, "TLS certificate")).toString("utf8") : undefined;
  // Without tlsCertPath an https URL is checked against the system CAs (a node behind a proxy with a public
  // certificate); LND's own self-signed certificate needs the path, or the adapter refuses it (tls_pin_mismatch).
  return { url: cfg.url, kind: "lnd", ...(macaroonHex ? { macaroonHex } : {}), ...(tlsCertPem ? { tlsCertPem } : {}) };
}
