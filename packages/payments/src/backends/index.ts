// The one place that turns a machine's `payments.backend` config into a `LightningBackend`. Each adapter is imported
// only when chosen, so a machine on LNbits never loads the CLN code, and secrets given as files are read here.
import type { Network, PaymentsBackendConfig } from "@zapvend/protocol";
import { readFile } from "node:fs/promises";
import type { LightningBackend } from "../backend.js";
import { PaymentError, PaymentErrorCode } from "../errors.js";
import type { Clock, Logger } from "../runtime.js";

export interface BackendDeps {
  /** The network the machine is configured for (`payments.network`). */
  network: Network;
  /**
   * `payments.payeeNodeKey`: the node key invoices must be signed by. Required for LNbits and BTCPay, which do not
   * tell an invoice-only key which node they use.
   */
  payeeNodeKey?: string;
  clock?: Clock;
  logger?: Logger;
  random?: () => number;
  /** Reads the CLN certificate file; injectable for tests. Default fs.readFile. (LND files: `lndOptionsFromConfig`.) */
  readFile?: (path: string) => Promise<Buffer>;
}

/** Builds (does not start) the backend the config names. Rejects with a coded error when a secret file is unreadable. */
export async function createBackend(config: PaymentsBackendConfig, deps: BackendDeps): Promise<LightningBackend> {
  const read = deps.readFile ?? ((p: string) => readFile(p));
  const secret = async (path: string, what: string): Promise<Buffer> => {
    try {
      return await read(path);
    } catch (err) {
      throw new PaymentError(PaymentErrorCode.BAD_REQUEST, `cannot read the ${what} at ${path}: ${(err as Error).message}`, { path }, { cause: err });
    }
  };
  const common = {
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.logger ? { logger: deps.logger } : {}),
  };
  switch (config.kind) {
    case "sim":
    case "lnd": {
      // The sim node speaks LND's REST shape, so the demo runs the production LND adapter.
      const [{ LndBackend }, { lndOptionsFromConfig }] = await Promise.all([import("./lnd.js"), import("./lnd-config.js")]);
      return new LndBackend({ ...(await lndOptionsFromConfig(config)), ...common, ...(deps.random ? { random: deps.random } : {}) });
    }
    case "cln": {
      const { ClnBackend } = await import("./cln.js");
      const tlsCertPem = config.tlsCertPath ? (await secret(config.tlsCertPath, "TLS certificate")).toString("utf8") : undefined;
      return new ClnBackend({
        url: config.url,
        rune: config.rune,
        ...(tlsCertPem ? { tlsCertPem } : {}),
        ...(config.tlsServerName ? { tlsServerName: config.tlsServerName } : {}),
        ...common,
        ...(deps.random ? { random: deps.random } : {}),
      });
    }
    case "lnbits": {
      const { LnbitsBackend } = await import("./lnbits.js");
      return new LnbitsBackend({ url: config.url, apiKey: config.apiKey, network: deps.network, ...(deps.payeeNodeKey ? { nodePubkey: deps.payeeNodeKey } : {}), ...common });
    }
    case "btcpay": {
      const { BtcpayBackend } = await import("./btcpay.js");
      return new BtcpayBackend({
        url: config.url,
        apiKey: config.apiKey,
        storeId: config.storeId,
        network: deps.network,
        ...(config.webhookSecret ? { webhookSecret: config.webhookSecret } : {}),
        ...(config.paymentMethodId ? { paymentMethodId: config.paymentMethodId } : {}),
        ...(deps.payeeNodeKey ? { nodePubkey: deps.payeeNodeKey } : {}),
        ...common,
      });
    }
    case "phoenixd": {
      const { PhoenixdBackend } = await import("./phoenixd.js");
      return new PhoenixdBackend({ url: config.url, password: config.password, network: deps.network, ...common });
    }
  }
}
