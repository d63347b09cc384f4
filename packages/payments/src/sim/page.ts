// The sim node's own page at `/`: a buyer's wallet for the demo (paste an invoice, pay it) and the node's invoices.
// Plain HTML with a few lines of script; no framework, it is a tool page, not a product screen.
import type { SimLightningNode } from "./node.js";

export function walletPage(node: SimLightningNode): string {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>zapvend sim Lightning node</title>
<style>body{font:15px system-ui,sans-serif;margin:2rem;max-width:60rem}textarea{width:100%;height:5rem}
table{border-collapse:collapse;width:100%;font-size:13px}td,th{border-bottom:1px solid #ddd;padding:4px;text-align:left}
code{word-break:break-all}.err{color:#b00}.ok{color:#070}</style></head>
<body><h1>Sim Lightning node</h1>
<p>Node <code>${esc(node.pubkey)}</code> on ${esc(node.network)} &middot; wallet balance <span id="bal"></span> sat</p>
<h2>Pay an invoice (as the buyer's phone)</h2>
<textarea id="inv" placeholder="lnbcrt..."></textarea><br><button id="pay">Pay</button> <span id="out"></span>
<h2>Invoices</h2><table><thead><tr><th>hash</th><th>memo</th><th>sat</th><th>state</th></tr></thead><tbody id="list"></tbody></table>
<script>
const $ = (id) => document.getElementById(id);
$("pay").onclick = async () => {
  $("out").textContent = "paying...";
  const r = await fetch("/wallet/pay", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ bolt11: $("inv").value.trim() }) });
  const b = await r.json();
  $("out").className = r.ok ? "ok" : "err";
  $("out").textContent = r.ok ? "paid, preimage " + b.preimage : b.error.code + ": " + b.error.message;
};
async function refresh() {
  const [w, i] = await Promise.all([fetch("/wallet").then((r) => r.json()), fetch("/sim/invoices").then((r) => r.json())]);
  $("bal").textContent = (BigInt(w.balanceMsat) / 1000n).toString();
  $("list").replaceChildren(...i.invoices.slice().reverse().map((v) => {
    const tr = document.createElement("tr");
    for (const t of [atob(v.r_hash).split("").map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("").slice(0, 16), v.memo, v.value, v.state]) {
      const td = document.createElement("td"); td.textContent = t; tr.append(td);
    }
    return tr;
  }));
}
refresh(); setInterval(refresh, 2000);
</script></body></html>`;
}
