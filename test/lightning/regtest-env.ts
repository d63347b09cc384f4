// The shape of `.zapvend/regtest/env.json` (written by scripts/lightning/network.mjs) and helpers for the tests that
// run on it: the buyer's node as a wallet, the control API of the process that owns the network.
import { readFileSync } from "node:fs";

export interface RegtestNode {
  restUrl: string;
  /** Operator: a baked macaroon with info:read invoices:read invoices:write only. Buyer: admin. */
  macaroonPath: string;
  adminMacaroonPath: string;
  tlsCertPath: string;
  pubkey: string;
  p2pHost: string;
  lnddir: string;
  pid?: number;
}

export interface RegtestEnv {
  network: "regtest";
  btcd: { rpcUrl: string; rpcUser: string; rpcPass: string; rpcCertPath: string; pid?: number };
  operator: RegtestNode;
  buyer: RegtestNode;
  channelPoint: string;
  controlUrl: string;
  ownerPid: number;
}

declare module "vitest" {
  export interface ProvidedContext {
    regtest: RegtestEnv | null;
    regtestSkipReason: string;
  }
}

/** A node as the harness REST client (scripts/lightning/rest.mjs) takes it. */
export function restNode(n: RegtestNode, name: string, { admin = false } = {}) {
  return {
    name,
    restUrl: n.restUrl,
    certPem: readFileSync(n.tlsCertPath, "utf8"),
    macaroonHex: readFileSync(admin ? n.adminMacaroonPath : n.macaroonPath).toString("hex"),
  };
}

/** Calls the control API of the process that runs the network (kill/start a node, mine). */
export async function control(env: RegtestEnv, path: string, body?: unknown): Promise<unknown> {
  const r = await fetch(`${env.controlUrl}${path}`, {
    method: body === undefined && path === "/env" ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    ...(body !== undefined || path !== "/env" ? { body: JSON.stringify(body ?? {}) } : {}),
    signal: AbortSignal.timeout(300_000),
  });
  const json = (await r.json()) as unknown;
  if (!r.ok) throw new Error(`regtest control ${path}: ${JSON.stringify(json)}`);
  return json;
}
