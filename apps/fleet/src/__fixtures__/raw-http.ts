// A raw HTTP client for the guard tests: unlike fetch it sends exactly the Host, Origin, Cookie and content-type
// it is given (a browser's or an attacker's), and reads the answer whatever its status.
import http from "node:http";

export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  text: string;
}

export function raw(base: string, method: string, path: string, headers: Record<string, string | undefined> = {}, body?: string): Promise<RawReply> {
  const u = new URL(path, base);
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) clean[k] = v;
  // Node sends a DELETE's body without chunking, so say its length.
  if (body !== undefined) clean["content-length"] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path: u.pathname + u.search, headers: clean, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: unknown = text;
        if ((res.headers["content-type"] ?? "").startsWith("application/json")) parsed = JSON.parse(text);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, text });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

export function errorCode(r: RawReply): string | undefined {
  return (r.body as { error?: { code?: string } } | undefined)?.error?.code;
}
