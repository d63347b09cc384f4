// A small HTTP(S) client on node:http/node:https for the REST backends. Not `fetch`: Node 20's fetch cannot take a
// per-request CA or checkServerIdentity without importing undici, and an LND node serves a self-signed certificate
// that must be *pinned* (the exact certificate, whatever host name the machine reaches it by), not trusted by name.
import { X509Certificate } from "node:crypto";
import http from "node:http";
import https from "node:https";
import tls, { type PeerCertificate } from "node:tls";
import { PaymentError, PaymentErrorCode } from "./errors.js";
import { systemClock, type Clock } from "./runtime.js";

export interface TransportOptions {
  /** `http://127.0.0.1:8060` (sim node) or `https://node:8080` (LND REST). A path prefix is kept. */
  baseUrl: string;
  /**
   * PEM of one or more certificates to pin. Each may be
   * - the server's own certificate (LND's self-signed `tls.cert`, clnrest's `server.pem`): the connection succeeds
   *   when the server presents exactly it (compared by SHA-256 fingerprint), whatever its host names say and
   *   whoever signed it;
   * - a CA certificate (clnrest's `ca.pem`): the connection succeeds when the server's certificate chains to it and
   *   names the host (the URL's, or `tlsServerName`).
   * Without it an https URL is verified against the system CAs as usual.
   */
  tlsCertPem?: string;
  /**
   * With a pinned CA: a name the server's certificate may carry instead of the URL's host (clnrest names its
   * generated server certificate "cln rest server", not the address a machine reaches it by). Checked against the
   * certificate's DNS subject alternative names, exactly.
   */
  tlsServerName?: string;
  /** Headers sent with every request (credentials). */
  headers?: Record<string, string>;
  /** Per-request timeout in ms (to the end of the body). Default 10 000. */
  timeoutMs?: number;
  clock?: Clock;
}

export interface HttpResponse {
  status: number;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  json: unknown;
  text: string;
}

export interface RequestOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface StreamHandlers {
  /** The server answered 2xx: the stream is open. */
  onOpen(): void;
  /** One complete line of the body (without the newline), in order. */
  onLine(line: string): void;
}

/** Body bytes accepted for a non-streaming answer: an invoice lookup is a few kB; anything huge is not the node. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Longest line accepted on a stream, for the same reason. */
const MAX_LINE_BYTES = 1024 * 1024;

export class HttpTransport {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  /** The pinned certificates (https with `tlsCertPem` only). */
  private readonly pin: PinnedTrust | undefined;

  constructor(private readonly opts: TransportOptions) {
    this.base = new URL(opts.baseUrl);
    if (this.base.protocol !== "http:" && this.base.protocol !== "https:") {
      throw new PaymentError(PaymentErrorCode.BAD_REQUEST, `unsupported URL scheme ${this.base.protocol} (http: or https:)`);
    }
    this.clock = opts.clock ?? systemClock;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    if (this.base.protocol === "https:") {
      this.pin = opts.tlsCertPem ? pinnedTrust(opts.tlsCertPem) : undefined;
      const pin = this.pin;
      const serverName = opts.tlsServerName;
      this.agent = new https.Agent({
        keepAlive: true,
        ...(pin
          ? {
              // Every pinned certificate is a trust anchor. `allowPartialTrustChain` lets a pinned leaf that is not
              // self-signed (clnrest's server.pem, signed by its ca.pem) anchor the chain by itself; without it
              // OpenSSL looks for the leaf's issuer and refuses. Node calls checkServerIdentity only after the chain
              // check passed, so by then the certificate is either a pinned one or signed by a pinned CA.
              // (`allowPartialTrustChain`: Node >= 20.18 / 22.9; older Node ignores it, and a pinned leaf that is not
              // self-signed then fails as tls_pin_mismatch, while a pinned CA or a self-signed leaf still works.)
              ca: pin.pems,
              allowPartialTrustChain: true,
              checkServerIdentity: (host: string, cert: PeerCertificate) => checkPinnedIdentity(pin, host, cert, serverName),
            }
          : {}),
      });
    } else {
      this.pin = undefined;
      this.agent = new http.Agent({ keepAlive: true });
    }
  }

  /** Where requests go, for logs (without credentials). */
  get origin(): string {
    return this.base.origin;
  }

  /** Closes idle keep-alive connections. Streams in flight are closed by their own AbortSignal. */
  close(): void {
    this.agent.destroy();
  }

  /** One request with a JSON body (when given); resolves with any HTTP status, rejects on transport failure only. */
  request(method: string, path: string, body?: unknown, ro: RequestOptions = {}): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      if (ro.signal?.aborted) return reject(abortedError());
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      let settled = false;
      const finish = (err: unknown, res?: HttpResponse) => {
        if (settled) return;
        settled = true;
        this.clock.clearTimeout(timer);
        ro.signal?.removeEventListener("abort", onAbort);
        if (err) {
          req.destroy();
          reject(err);
        } else resolve(res as HttpResponse);
      };
      const req = this.open(method, path, payload);
      const timeoutMs = ro.timeoutMs ?? this.timeoutMs;
      const timer = this.clock.setTimeout(
        () => finish(new PaymentError(PaymentErrorCode.BACKEND_TIMEOUT, `${method} ${path} got no answer within ${timeoutMs} ms`, { origin: this.origin })),
        timeoutMs,
      );
      const onAbort = () => finish(abortedError());
      ro.signal?.addEventListener("abort", onAbort, { once: true });
      req.on("error", (err) => finish(this.mapError(err, method, path)));
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) {
            finish(new PaymentError(PaymentErrorCode.BAD_RESPONSE, `${method} ${path}: answer larger than ${MAX_BODY_BYTES} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on("error", (err) => finish(this.mapError(err, method, path)));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = text.length > 0 ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          finish(undefined, { status: res.statusCode ?? 0, json, text });
        });
      });
      req.end(payload);
    });
  }

  /**
   * A long-lived GET whose body is newline-delimited (LND's REST streams). Resolves when the server ends the body,
   * with its status; rejects on transport failure, a non-2xx answer (with the error body) or abort. There is no
   * overall timeout (a stream may rightly be silent for minutes) but the socket has TCP keep-alive so a dead peer
   * is noticed; the caller's slow poll covers the rest.
   */
  stream(path: string, handlers: StreamHandlers, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(abortedError());
      let done = false;
      const finish = (err?: unknown) => {
        if (done) return;
        done = true;
        signal.removeEventListener("abort", onAbort);
        this.clock.clearTimeout(connectTimer);
        if (err) {
          req.destroy();
          reject(err);
        } else resolve();
      };
      const req = this.open("GET", path, undefined);
      // Only the connection and the response head are bounded by the request timeout.
      const connectTimer = this.clock.setTimeout(
        () => finish(new PaymentError(PaymentErrorCode.BACKEND_TIMEOUT, `GET ${path}: no answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      const onAbort = () => finish(abortedError());
      signal.addEventListener("abort", onAbort, { once: true });
      req.on("socket", (s) => s.setKeepAlive(true, 30_000));
      req.on("error", (err) => finish(this.mapError(err, "GET", path)));
      req.on("response", (res) => {
        this.clock.clearTimeout(connectTimer);
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.length < 64 && chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            finish(Object.assign(new Error(`stream answered ${status}`), { status, text }));
          });
          res.on("error", (err) => finish(this.mapError(err, "GET", path)));
          return;
        }
        handlers.onOpen();
        let buf = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line) handlers.onLine(line);
            if (done) return;
          }
          if (buf.length > MAX_LINE_BYTES) finish(new PaymentError(PaymentErrorCode.BAD_RESPONSE, `GET ${path}: stream line longer than ${MAX_LINE_BYTES} bytes`));
        });
        res.on("error", (err) => finish(this.mapError(err, "GET", path)));
        res.on("end", () => {
          const tail = buf.trim();
          buf = "";
          if (tail && !done) handlers.onLine(tail);
        });
        // A body cut mid-way (the node restarted, a proxy dropped it) is a failure, not the end of the stream.
        res.on("close", () =>
          finish(res.complete ? undefined : new PaymentError(PaymentErrorCode.BACKEND_UNREACHABLE, `GET ${path}: stream cut mid-way`)),
        );
      });
      req.end();
    });
  }

  private open(method: string, path: string, payload: Buffer | undefined): http.ClientRequest {
    const url = new URL(this.base.pathname.replace(/\/$/, "") + path, this.base);
    const headers: Record<string, string> = { accept: "application/json", ...this.opts.headers };
    if (payload) {
      headers["content-type"] = "application/json";
      headers["content-length"] = String(payload.length);
    }
    const mod = url.protocol === "https:" ? https : http;
    return mod.request(url, { method, headers, agent: this.agent });
  }

  private mapError(err: unknown, method: string, path: string): PaymentError {
    if (err instanceof PaymentError) return err;
    const code = (err as { code?: string }).code ?? "";
    const ctx = { origin: this.origin, cause: code || String(err) };
    if (code === "ERR_ZAPVEND_TLS_NAME") {
      return new PaymentError(PaymentErrorCode.TLS_PIN_MISMATCH, `${this.origin}: ${(err as Error).message}`, { ...ctx, reason: "name" }, { cause: err });
    }
    if (this.pin !== undefined && isCertError(code)) {
      const what = this.pin.caFingerprints.length > 0 ? "neither a pinned certificate nor one signed by the pinned CA" : "other than the pinned one";
      return new PaymentError(PaymentErrorCode.TLS_PIN_MISMATCH, `${this.origin} presented a TLS certificate ${what}`, { ...ctx, reason: "chain" }, { cause: err });
    }
    if (isCertError(code)) {
      return new PaymentError(PaymentErrorCode.TLS_PIN_MISMATCH, `${this.origin}: TLS certificate not trusted (${code}); give the node's tls.cert to pin it`, ctx, { cause: err });
    }
    return new PaymentError(PaymentErrorCode.BACKEND_UNREACHABLE, `${method} ${path} failed: ${(err as Error).message ?? code}`, ctx, { cause: err });
  }
}

/** The certificates a transport pins, told apart: CAs (chain to them) and leaves (must be presented exactly). */
interface PinnedTrust {
  pems: string[];
  caFingerprints: string[];
  leafFingerprints: string[];
}

function pinnedTrust(pem: string): PinnedTrust {
  const pems = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const out: PinnedTrust = { pems: [], caFingerprints: [], leafFingerprints: [] };
  for (const one of pems) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(one);
    } catch (err) {
      throw new PaymentError(PaymentErrorCode.BAD_REQUEST, "the TLS certificate to pin is not a PEM certificate", undefined, { cause: err });
    }
    out.pems.push(one);
    (cert.ca ? out.caFingerprints : out.leafFingerprints).push(cert.fingerprint256);
  }
  if (out.pems.length === 0) throw new PaymentError(PaymentErrorCode.BAD_REQUEST, "the TLS certificate to pin is not a PEM certificate");
  return out;
}

/**
 * Runs after the chain check passed against the pinned certificates. A certificate that is itself pinned (a leaf,
 * or LND's self-signed one that is also a CA) is accepted whatever it names: it was pinned by its bytes. Anything
 * else got here by being signed by a pinned CA, and such a CA may sign more than one certificate (clnrest's also
 * signs a client certificate), so it must name the host: the URL's, or the configured server name.
 */
function checkPinnedIdentity(pin: PinnedTrust, host: string, cert: PeerCertificate, serverName: string | undefined): Error | undefined {
  if (pin.leafFingerprints.includes(cert.fingerprint256) || pin.caFingerprints.includes(cert.fingerprint256)) return undefined;
  if (pin.caFingerprints.length === 0) {
    return Object.assign(new Error("certificate does not match the pinned one"), { code: "ERR_ZAPVEND_PIN" });
  }
  const dnsNames = (cert.subjectaltname ?? "")
    .split(/,\s*/)
    .filter((n) => n.startsWith("DNS:"))
    .map((n) => n.slice(4));
  if (serverName !== undefined && dnsNames.includes(serverName)) return undefined;
  if (tls.checkServerIdentity(host, cert) === undefined) return undefined;
  return Object.assign(
    new Error(
      `the certificate is signed by the pinned CA but names ${JSON.stringify(dnsNames.concat(cert.subject?.CN ? [`CN=${cert.subject.CN}`] : []))}, neither ${JSON.stringify(host)}${serverName !== undefined ? ` nor ${JSON.stringify(serverName)}` : ""}`,
    ),
    { code: "ERR_ZAPVEND_TLS_NAME" },
  );
}

function isCertError(code: string): boolean {
  return (
    code === "ERR_ZAPVEND_PIN" ||
    code === "ERR_TLS_CERT_ALTNAME_INVALID" ||
    code.includes("CERT") ||
    code === "UNABLE_TO_VERIFY_LEAF_SIGNATURE" ||
    code === "UNABLE_TO_GET_ISSUER_CERT_LOCALLY"
  );
}

function abortedError(): PaymentError {
  return new PaymentError(PaymentErrorCode.ABORTED, "request aborted");
}
