import { describe, expect, it } from "vitest";
import { PaymentsBackendConfig } from "@zapvend/protocol";
import { PaymentErrorCode } from "../errors.js";
import { FakeBtcpay } from "./__fixtures__/fake-btcpay.js";
import { FakeLnbits } from "./__fixtures__/fake-lnbits.js";
import { createBackend } from "./index.js";

describe("createBackend", () => {
  it("builds the adapter each config kind names, with its capabilities", async () => {
    const cases: Array<[unknown, string, boolean]> = [
      [{ kind: "sim" }, "sim", true],
      [{ kind: "lnd", url: "https://node:8080", macaroonHex: "0201" }, "lnd", true],
      [{ kind: "cln", url: "https://node:3010", rune: "abc" }, "cln", false],
      [{ kind: "lnbits", url: "https://lnbits.example", apiKey: "inkey" }, "lnbits", false],
      [{ kind: "btcpay", url: "https://btcpay.example", apiKey: "k", storeId: "S1" }, "btcpay", false],
      [{ kind: "phoenixd", url: "http://127.0.0.1:9740", password: "pw" }, "phoenixd", false],
    ];
    for (const [raw, kind, hold] of cases) {
      const b = await createBackend(PaymentsBackendConfig.parse(raw), { network: "regtest" });
      expect(b.kind).toBe(kind);
      // CLN learns about the holdinvoice plugin only at start.
      expect(b.capabilities.holdInvoices).toBe(hold);
      await b.stop();
    }
  });

  it("names a secret file it cannot read (CLN certificate, LND macaroon)", async () => {
    const read = async () => {
      throw new Error("ENOENT: no such file");
    };
    await expect(createBackend({ kind: "cln", url: "https://node:3010", rune: "r", tlsCertPath: "/etc/zapvend/cln.pem" }, { network: "regtest", readFile: read })).rejects.toMatchObject({
      code: PaymentErrorCode.BAD_REQUEST,
      message: expect.stringContaining("/etc/zapvend/cln.pem"),
    });
    await expect(createBackend({ kind: "lnd", url: "https://node:8080", macaroonPath: "/nonexistent/zapvend/invoice.macaroon" }, { network: "regtest" })).rejects.toMatchObject({
      code: PaymentErrorCode.BAD_REQUEST,
    });
  });

  it("passes the configured node key to backends that cannot report it", async () => {
    const server = await new FakeLnbits().start();
    const key = `02${"77".repeat(32)}`;
    const b = await createBackend({ kind: "lnbits", url: server.url, apiKey: server.invoiceKey }, { network: "signet", payeeNodeKey: key });
    await b.start();
    expect(await b.nodeInfo()).toEqual({ pubkey: key, network: "signet" });
    await b.stop();
    await server.close();
  });

  it("passes BTCPay's configured paymentMethodId (1.x's BTC-LightningNetwork) and refuses a malformed one in the config", async () => {
    const server = await new FakeBtcpay().start();
    server.version = 1;
    const config = PaymentsBackendConfig.parse({ kind: "btcpay", url: server.url, apiKey: "key-invoices", storeId: server.storeId, paymentMethodId: "BTC-LightningNetwork" });
    const b = await createBackend(config, { network: "regtest" });
    await b.createInvoice({ amountMsat: 2_000n, description: "x", expirySec: 60 });
    const posts = server.http.requests.filter((r) => r.method === "POST");
    expect(posts.map((r) => (r.json as { checkout: { paymentMethods: string[] } }).checkout.paymentMethods)).toEqual([["BTC-LightningNetwork"]]);
    await b.stop();
    await server.close();
    expect(PaymentsBackendConfig.safeParse({ kind: "btcpay", url: server.url, apiKey: "k", storeId: "S", paymentMethodId: "BTC LN; drop" }).success).toBe(false);
    expect(PaymentsBackendConfig.safeParse({ kind: "cln", url: "https://node:3010", rune: "r", tlsCertPath: "/etc/zapvend/ca.pem", tlsServerName: "cln rest server" }).success).toBe(true);
  });
});
