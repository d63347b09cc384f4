// Small clients for the regtest harness: LND's REST API (admin side: funding, channels, paying) and btcd's JSON-RPC.
// Plain node:https with the node's own certificate as the only CA; this is harness code, not the machine's adapter
// (that is packages/payments/src/backends/lnd.ts, which the tests exercise).
import https from "node:https";

/**
 * One LND REST call. Resolves `{status, json, text}` for any HTTP status; rejects on transport errors.
 * @param {{restUrl: string, certPem: string, macaroonHex?: string}} node
 */
export function lndRequest(node, method, path, body, { timeoutMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = https.request(new URL(path, node.restUrl), {
      method,
      ca: node.certPem,
      headers: {
        ...(node.macaroonHex ? { "Grpc-Metadata-macaroon": node.macaroonHex } : {}),
        ...(payload ? { "content-type": "application/json", "content-length": String(payload.length) } : {}),
      },
      timeout: timeoutMs,
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.on("response", (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json, text });
      });
    });
    req.end(payload);
  });
}

/** An LND REST call that must succeed (2xx); its JSON body. */
export async function lnd(node, method, path, body, opts) {
  const r = await lndRequest(node, method, path, body, opts);
  if (r.status < 200 || r.status > 299) {
    throw Object.assign(new Error(`${node.name ?? "lnd"} ${method} ${path}: HTTP ${r.status} ${r.text.slice(0, 300)}`), { status: r.status, body: r.json });
  }
  return r.json;
}

/**
 * A server-streaming LND REST call (e.g. `POST /v2/router/send`): calls `onMessage` for every `{result}` line and
 * resolves with the last one when the node ends the stream; an `{error}` line rejects.
 */
export function lndStream(node, method, path, body, onMessage = () => {}, { signal } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = https.request(new URL(path, node.restUrl), {
      method,
      ca: node.certPem,
      signal,
      headers: {
        ...(node.macaroonHex ? { "Grpc-Metadata-macaroon": node.macaroonHex } : {}),
        ...(payload ? { "content-type": "application/json", "content-length": String(payload.length) } : {}),
      },
    });
    let last;
    req.on("error", reject);
    req.on("response", (res) => {
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line) handle(line);
        }
      });
      res.on("end", () => {
        if (buf.trim()) handle(buf.trim());
        if (res.statusCode !== 200 && last === undefined) reject(new Error(`${method} ${path}: HTTP ${res.statusCode}`));
        else resolve(last);
      });
      res.on("error", reject);
    });
    const handle = (line) => {
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      if (msg.error) {
        reject(Object.assign(new Error(`${method} ${path}: ${msg.error.message ?? JSON.stringify(msg.error)}`), { body: msg.error }));
        req.destroy();
        return;
      }
      last = msg.result ?? msg;
      onMessage(last);
    };
    req.end(payload);
  });
}

/**
 * One btcd JSON-RPC call (HTTPS with btcd's rpc.cert, basic auth).
 * @param {{rpcUrl: string, rpcUser: string, rpcPass: string, certPem: string}} btcd
 */
export function btcdRpc(btcd, method, params = []) {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(JSON.stringify({ jsonrpc: "1.0", id: 1, method, params }));
    const req = https.request(btcd.rpcUrl, {
      method: "POST",
      ca: btcd.certPem,
      auth: `${btcd.rpcUser}:${btcd.rpcPass}`,
      headers: { "content-type": "application/json", "content-length": String(payload.length) },
      timeout: 60_000,
    });
    req.on("timeout", () => req.destroy(new Error(`btcd ${method}: no answer within 60 s`)));
    req.on("error", reject);
    req.on("response", (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let msg;
        try {
          msg = JSON.parse(text);
        } catch {
          return reject(new Error(`btcd ${method}: HTTP ${res.statusCode} ${text.slice(0, 200)}`));
        }
        if (msg.error) reject(new Error(`btcd ${method}: ${msg.error.message}`));
        else resolve(msg.result);
      });
    });
    req.end(payload);
  });
}

/** Standard base64 of hex bytes (LND's JSON bytes). */
export const hexToB64 = (hex) => Buffer.from(hex, "hex").toString("base64");
export const b64ToHex = (b64) => Buffer.from(b64, "base64").toString("hex");
