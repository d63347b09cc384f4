// Certificates shaped like the ones clnrest generates on first start (upstream/cln-contract.ts CLNREST_TLS, from CLN
// plugins/rest-plugin/src/certs.rs at v26.06): a CA (`ca.pem`), a server certificate signed by it (`server.pem`) and a
// client certificate signed by the same CA (`client.pem`). Made fresh at test time with `selfsigned`; nothing here
// is a real node's key.
import { generate } from "selfsigned";
import { CLNREST_TLS } from "./upstream/cln-contract.js";

export interface Pem {
  keyPem: string;
  certPem: string;
}

export interface ClnrestCerts {
  ca: Pem;
  server: Pem;
  client: Pem;
}

/**
 * One node's clnrest identity. `restHost` is `clnrest-host`: clnrest adds it to the server certificate as an IP
 * name when it is an IP (e.g. "0.0.0.0" when the node listens on every address, which no client connects to).
 */
export async function clnrestCerts(restHost = "0.0.0.0"): Promise<ClnrestCerts> {
  const ecdsa = { keyType: "ec" as const, curve: "P-256" as const, algorithm: "sha256" };
  const dns = (names: readonly string[]) => names.map((value) => ({ type: 2 as const, value }));
  // rcgen leaves the CA's subject at its default common name; its names are in the SAN.
  const ca = await generate([{ name: "commonName", value: "rcgen self signed cert" }], {
    ...ecdsa,
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true },
      { name: "subjectAltName", altNames: dns(CLNREST_TLS.caNames) },
    ],
  });
  const signer = { key: ca.private, cert: ca.cert };
  const server = await generate([{ name: "commonName", value: CLNREST_TLS.serverCommonName }], {
    ...ecdsa,
    ca: signer,
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyAgreement: true },
      { name: "subjectAltName", altNames: [...dns(CLNREST_TLS.serverNames), ...(/^[0-9.]+$/.test(restHost) ? [{ type: 7 as const, ip: restHost }] : [])] },
    ],
  });
  const client = await generate([{ name: "commonName", value: "cln rest client" }], {
    ...ecdsa,
    ca: signer,
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "subjectAltName", altNames: dns(CLNREST_TLS.clientNames) },
    ],
  });
  return {
    ca: { keyPem: ca.private, certPem: ca.cert },
    server: { keyPem: server.private, certPem: server.cert },
    client: { keyPem: client.private, certPem: client.cert },
  };
}
