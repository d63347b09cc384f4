// The CLN adapter's TLS against a clnrest-like HTTPS server: clnrest serves `server.pem`, signed by its own
// generated `ca.pem` (upstream/cln-contract.ts CLNREST_TLS). Both files an operator may copy to the machine must
// work: the CA as the trust root (the server certificate must then name the host or "cln rest server"), or the
// server certificate pinned exactly. Anything else is refused with `tls_pin_mismatch` before the rune is sent.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { PaymentErrorCode } from "../errors.js";
import { clnrestCerts, type ClnrestCerts } from "./__fixtures__/clnrest-certs.js";
import { FakeCln } from "./__fixtures__/fake-cln.js";
import { ClnBackend } from "./cln.js";

const RUNE = "rune-full";

let mine: ClnrestCerts;
let other: ClnrestCerts;
let local: ClnrestCerts;

beforeAll(async () => {
  // This node's identity (clnrest-host 0.0.0.0, so its certificate names no address the test connects to), another
  // node's, and one whose clnrest-host is 127.0.0.1.
  [mine, other, local] = await Promise.all([clnrestCerts("0.0.0.0"), clnrestCerts("0.0.0.0"), clnrestCerts("127.0.0.1")]);
});

const nodes: FakeCln[] = [];
const backends: ClnBackend[] = [];
afterEach(async () => {
  for (const b of backends.splice(0)) await b.stop();
  for (const n of nodes.splice(0)) await n.close();
});

async function node(tls: { keyPem: string; certPem: string }): Promise<FakeCln> {
  const n = await new FakeCln({ tls }).start();
  n.runes.set(RUNE, undefined);
  nodes.push(n);
  return n;
}

function cln(url: string, tlsCertPem: string | undefined, extra: Partial<ConstructorParameters<typeof ClnBackend>[0]> = {}): ClnBackend {
  const b = new ClnBackend({ url, rune: RUNE, ...(tlsCertPem ? { tlsCertPem } : {}), holdInvoices: false, ...extra });
  backends.push(b);
  return b;
}

describe("CLN over clnrest's HTTPS", { timeout: 30_000 }, () => {
  it("trusts the node's ca.pem: server.pem chains to it and names 'cln rest server'", async () => {
    const n = await node(mine.server);
    expect(n.url).toMatch(/^https:/);
    const b = cln(n.url, mine.ca.certPem);
    await b.start();
    expect((await b.nodeInfo()).network).toBe("regtest");
  });

  it("pins the node's server.pem exactly, though it is signed by a CA the machine was not given", async () => {
    const n = await node(mine.server);
    await cln(n.url, mine.server.certPem).start();
  });

  it("takes ca.pem and server.pem together in one file", async () => {
    const n = await node(mine.server);
    await cln(n.url, `${mine.ca.certPem}\n${mine.server.certPem}`).start();
  });

  it("with ca.pem, a certificate naming the URL's host is enough (clnrest-host 127.0.0.1), whatever tlsServerName says", async () => {
    const n = await node(local.server);
    await cln(n.url, local.ca.certPem, { tlsServerName: "node.example" }).start();
  });

  it("refuses another node's server (another CA) with tls_pin_mismatch, for either pinned file, before sending the rune", async () => {
    const n = await node(other.server);
    await expect(cln(n.url, mine.ca.certPem).start()).rejects.toMatchObject({ code: PaymentErrorCode.TLS_PIN_MISMATCH, context: { reason: "chain" } });
    await expect(cln(n.url, mine.server.certPem).start()).rejects.toMatchObject({ code: PaymentErrorCode.TLS_PIN_MISMATCH, context: { reason: "chain" } });
    expect(n.http.requests).toHaveLength(0);
  });

  it("refuses clnrest's client certificate presented as a server (same CA, not named 'cln rest server')", async () => {
    // client.pem and its key are handed to gRPC/REST clients; whoever holds them must not pass for the node.
    const n = await node(mine.client);
    const err = await cln(n.url, mine.ca.certPem).start().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: PaymentErrorCode.TLS_PIN_MISMATCH, context: { reason: "name" } });
    expect(String((err as Error).message)).toMatch(/cln rest client/);
    expect(n.http.requests).toHaveLength(0);
  });

  it("with ca.pem and a server certificate re-issued for a domain, tlsServerName names it", async () => {
    const n = await node(mine.server);
    await expect(cln(n.url, mine.ca.certPem, { tlsServerName: "node.example" }).start()).rejects.toMatchObject({
      code: PaymentErrorCode.TLS_PIN_MISMATCH,
      context: { reason: "name" },
    });
  });

  it("without a pinned file, clnrest's self-made chain is not trusted (the system CAs do not know it)", async () => {
    const n = await node(mine.server);
    await expect(cln(n.url, undefined).start()).rejects.toMatchObject({ code: PaymentErrorCode.TLS_PIN_MISMATCH });
  });

  it("a file that is not a certificate is refused at construction", () => {
    expect(() => cln("https://127.0.0.1:1", "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----")).toThrow(/PEM/);
  });
});
