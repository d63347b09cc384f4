import { describe, expect, it } from "vitest";
import { runInvoiceCli } from "./cli.js";

const V2 =
  "lnbc2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu9qrsgquk0rl77nj30yxdy8j9vdx85fkpmdla2087ne0xh8nhedh8w27kyke0lp53ut353s06fv3qfegext0eh0ymjpf39tuven09sam30g4vgpfna3rh";
const SIGNER = "03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad";
const OTHER = "029e03a901b85534ff1e92c43c74431f7ce72046060fcf7a95c37e148f78c77255";

function run(...argv: string[]) {
  let stdout = "";
  let stderr = "";
  const code = runInvoiceCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

describe("zapvend-invoice", () => {
  it("decode prints the DESIGN.md fields as JSON, money as a decimal string", () => {
    const r = run("decode", V2);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const json = JSON.parse(r.stdout);
    for (const key of [
      "network", "amountMsat", "timestamp", "paymentHash", "paymentSecret", "description", "descriptionHash", "expiry",
      "minFinalCltvExpiry", "payeeNodeKey", "features", "routeHints", "fallbackAddresses",
    ]) {
      expect(json).toHaveProperty(key);
    }
    expect(json.network).toBe("bitcoin");
    expect(json.amountMsat).toBe("250000000");
    expect(json.description).toBe("1 cup coffee");
    expect(json.expiry).toBe(60);
    expect(json.minFinalCltvExpiry).toBe(18);
    expect(json.payeeNodeKey).toBe(SIGNER);
  });

  it("an invalid invoice: exit 1, one stderr line 'error: <code>: <message>', nothing on stdout", () => {
    const r = run("decode", V2.slice(0, -1) + "q");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^error: bad_checksum: [^\n]+\n$/);
    expect(run("decode", "").stderr).toMatch(/^error: too_short: [^\n]+\n$/);
    expect(run("decode", "hello").stderr).toMatch(/^error: no_separator: /);
  });

  it("verify accepts an invoice signed by the given node with the given amount", () => {
    const r = run("verify", V2, "--payee", SIGNER, "--amount-msat", "250000000", "--network", "bitcoin");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).payeeNodeKey).toBe(SIGNER);
  });

  it("verify refuses another node, another amount or another network with their codes", () => {
    const payee = run("verify", V2, "--payee", OTHER);
    expect(payee.code).toBe(1);
    expect(payee.stdout).toBe("");
    expect(payee.stderr).toMatch(/^error: wrong_payee: [^\n]+\n$/);
    expect(run("verify", V2, "--payee", SIGNER, "--amount-msat", "250000001").stderr).toMatch(/^error: wrong_amount: /);
    expect(run("verify", V2, "--payee", SIGNER, "--network", "regtest").stderr).toMatch(/^error: wrong_network: /);
    expect(run("verify", V2, "--payee", "02abc").stderr).toMatch(/^error: bad_argument: /);
  });

  it("a wrong command line exits 2 with the usage", () => {
    expect(run().code).toBe(2);
    expect(run("decode").code).toBe(2);
    expect(run("verify", V2).code).toBe(2);
    expect(run("verify", V2, "--payee", SIGNER, "--amount-msat", "1.5").code).toBe(2);
    expect(run("frobnicate", V2).stderr).toContain("usage:");
  });
});
