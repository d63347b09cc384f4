// The demo's fleet catalog (`npm start`, issue #18): at the first start, the products of the demo machines' configs
// become fleet products (names in English, French, Japanese and Chinese, the slot's price, its emoji as the icon) with
// a picture each, assigned to the machines' slots and MDB selections. Everything goes through the fleet's HTTP API as
// an operator would (login, `POST /api/pictures`, `PUT /api/catalog/products/:id`,
// `PUT /api/catalog/machines/:id/slots/:slot`): the fleet compresses each picture (sharp, WebP of at most 40 KB,
// addressed by sha256), publishes it and a signed desired state, and the machines fetch, verify and serve it.
// The pictures are drawn here as SVG and rendered to PNG by sharp: no file comes from the internet, none is committed.
//
// Seeded once: `catalog-seeded.json` in the demo folder marks it done, and a catalog holding anything else than
// this seed is never touched, so the operator's edits survive every restart (delete .zapvend/demo to start afresh).
import { createRequire } from "node:module";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Per product of the demo configs (by its English name): the fleet product id, the other languages, and the drawing.
 * `art`: the SVG body drawn on a 480 x 360 canvas over a background of `bg` (two colours, top to bottom).
 */
const PRODUCTS = {
  Lemonade: {
    id: "lemonade",
    names: { fr: "Limonade", ja: "レモネード", zh: "柠檬水" },
    bg: ["#fff7c2", "#ffd84d"],
    art: `<path d="M180 70 h120 l-18 240 h-84 z" fill="#fffbe6" stroke="#c9a400" stroke-width="6" opacity="0.95"/>
      <path d="M186 130 h108 l-13 176 h-82 z" fill="#ffe866"/>
      <circle cx="300" cy="92" r="42" fill="#ffe14d" stroke="#e0b400" stroke-width="6"/>
      <g stroke="#f5c800" stroke-width="4"><line x1="300" y1="56" x2="300" y2="128"/><line x1="264" y1="92" x2="336" y2="92"/><line x1="275" y1="67" x2="325" y2="117"/><line x1="325" y1="67" x2="275" y2="117"/></g>
      <rect x="238" y="40" width="10" height="150" rx="4" fill="#e2412e" transform="rotate(12 243 115)"/>`,
  },
  Crisps: {
    id: "crisps",
    names: { fr: "Chips", ja: "ポテトチップス", zh: "薯片" },
    bg: ["#fff0d6", "#ffb347"],
    art: `<path d="M150 60 q90 -25 180 0 l-12 250 q-78 22 -156 0 z" fill="#e8322b" stroke="#9e1b16" stroke-width="6"/>
      <path d="M160 60 q80 -18 160 0 l-2 22 q-78 -16 -156 0 z" fill="#c4c4c4"/>
      <ellipse cx="240" cy="185" rx="62" ry="46" fill="#ffd35c" stroke="#d99a00" stroke-width="5"/>
      <ellipse cx="222" cy="176" rx="16" ry="9" fill="#ffe9a3"/><ellipse cx="262" cy="198" rx="12" ry="7" fill="#ffe9a3"/>`,
  },
  Chocolate: {
    id: "chocolate",
    names: { fr: "Chocolat", ja: "チョコレート", zh: "巧克力" },
    bg: ["#f3e3d3", "#c08a5c"],
    art: `<rect x="130" y="80" width="220" height="200" rx="14" fill="#5b3216" stroke="#3a1e0b" stroke-width="6"/>
      <g fill="#6e3d1c" stroke="#3a1e0b" stroke-width="3">
        <rect x="146" y="96" width="56" height="50" rx="6"/><rect x="212" y="96" width="56" height="50" rx="6"/><rect x="278" y="96" width="56" height="50" rx="6"/>
        <rect x="146" y="156" width="56" height="50" rx="6"/><rect x="212" y="156" width="56" height="50" rx="6"/><rect x="278" y="156" width="56" height="50" rx="6"/>
        <rect x="146" y="216" width="56" height="50" rx="6"/><rect x="212" y="216" width="56" height="50" rx="6"/><rect x="278" y="216" width="56" height="50" rx="6"/>
      </g>
      <path d="M118 240 l250 -40 l0 96 l-250 0 z" fill="#d4af37" opacity="0.9"/>`,
  },
  Cookies: {
    id: "cookies",
    names: { fr: "Biscuits", ja: "クッキー", zh: "曲奇饼" },
    bg: ["#fdf1e4", "#e8b98a"],
    art: `<g stroke="#9c6b30" stroke-width="5" fill="#d9a25f"><circle cx="190" cy="200" r="78"/><circle cx="300" cy="150" r="70"/></g>
      <g fill="#4a2a12"><circle cx="160" cy="180" r="10"/><circle cx="205" cy="165" r="8"/><circle cx="190" cy="230" r="11"/><circle cx="230" cy="215" r="7"/>
        <circle cx="285" cy="125" r="9"/><circle cx="320" cy="160" r="10"/><circle cx="290" cy="180" r="7"/><circle cx="330" cy="120" r="6"/></g>`,
  },
  Nuts: {
    id: "nuts",
    names: { fr: "Noix", ja: "ナッツ", zh: "坚果" },
    bg: ["#f6efe2", "#b99564"],
    art: `<path d="M110 200 q130 130 260 0 z" fill="#3b6e8f" stroke="#244a61" stroke-width="6"/>
      <g fill="#c8894a" stroke="#7a4b1f" stroke-width="4">
        <ellipse cx="170" cy="180" rx="34" ry="22" transform="rotate(-20 170 180)"/><ellipse cx="230" cy="165" rx="36" ry="23"/>
        <ellipse cx="292" cy="178" rx="34" ry="22" transform="rotate(18 292 178)"/><ellipse cx="200" cy="140" rx="30" ry="20" transform="rotate(10 200 140)"/>
        <ellipse cx="262" cy="135" rx="30" ry="20" transform="rotate(-12 262 135)"/></g>`,
  },
  Water: {
    id: "water",
    names: { fr: "Eau", ja: "水", zh: "矿泉水" },
    bg: ["#e6f6ff", "#7cc8f2"],
    art: `<path d="M215 40 h50 v40 q45 30 45 80 v150 q0 14 -14 14 h-112 q-14 0 -14 -14 v-150 q0 -50 45 -80 z" fill="#d8f1ff" stroke="#2b86c5" stroke-width="6"/>
      <rect x="212" y="30" width="56" height="22" rx="5" fill="#1e6fb0"/>
      <rect x="176" y="170" width="128" height="70" rx="6" fill="#2b86c5"/>
      <path d="M240 184 q22 28 0 44 q-22 -16 0 -44 z" fill="#ffffff"/>`,
  },
  Cola: {
    id: "cola",
    names: { fr: "Cola", ja: "コーラ", zh: "可乐" },
    bg: ["#ffe3e0", "#f07167"],
    art: `<rect x="170" y="60" width="140" height="250" rx="22" fill="#c1121f" stroke="#780000" stroke-width="6"/>
      <rect x="178" y="52" width="124" height="20" rx="8" fill="#b8b8b8"/><rect x="178" y="298" width="124" height="20" rx="8" fill="#9a9a9a"/>
      <path d="M170 170 q70 -40 140 0 v30 q-70 -40 -140 0 z" fill="#ffffff"/>
      <g fill="#ffffff" opacity="0.6"><circle cx="200" cy="110" r="6"/><circle cx="215" cy="130" r="4"/><circle cx="205" cy="250" r="5"/></g>`,
  },
  "Chocolate bar": {
    id: "chocolate-bar",
    names: { fr: "Barre chocolatée", ja: "チョコバー", zh: "巧克力棒" },
    bg: ["#efe4f7", "#9d6bc4"],
    art: `<rect x="70" y="130" width="340" height="100" rx="16" fill="#5a189a" stroke="#3c096c" stroke-width="6"/>
      <path d="M70 146 l-20 -10 v88 l20 -10 z M410 146 l20 -10 v88 l-20 -10 z" fill="#7b2cbf"/>
      <rect x="150" y="150" width="180" height="60" rx="10" fill="#6b3b1c"/>
      <g stroke="#4a2711" stroke-width="4"><line x1="195" y1="150" x2="195" y2="210"/><line x1="240" y1="150" x2="240" y2="210"/><line x1="285" y1="150" x2="285" y2="210"/></g>`,
  },
};

/** The SVG of a product picture (480 x 360). */
export function productSvg(p) {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="360" viewBox="0 0 480 360">
  <defs><linearGradient id="bg" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${p.bg[0]}"/><stop offset="1" stop-color="${p.bg[1]}"/></linearGradient></defs>
  <rect width="480" height="360" fill="url(#bg)"/>
  <ellipse cx="240" cy="330" rx="170" ry="18" fill="#000000" opacity="0.12"/>
  ${p.art}
</svg>`;
}

/** The seed: one fleet product per distinct product of the machines' configs, and the slots that show it. */
export function demoCatalog(machines) {
  const products = new Map();
  const assignments = [];
  for (const m of machines) {
    for (const slot of m.catalog) {
      const known = PRODUCTS[slot.name];
      if (!known) throw new Error(`the demo catalog has no picture and translations for "${slot.name}" (scripts/demo-catalog.mjs)`);
      const product = products.get(known.id) ?? { id: known.id, names: { en: slot.name, ...known.names }, icon: slot.icon, price: slot.price, svg: productSvg(known) };
      products.set(known.id, product);
      // The slot's own price when it differs from the product's (the same product at two prices on two machines).
      assignments.push({ machineId: m.machineId, slot: slot.slot, product: known.id, price: JSON.stringify(slot.price) === JSON.stringify(product.price) ? null : slot.price });
    }
  }
  return { products: [...products.values()], assignments };
}

/** A small client of the fleet API, logged in with the demo admin's cookie session. */
async function fleetClient(fleetUrl, admin) {
  const login = await fetch(`${fleetUrl}/api/login`, { method: "POST", headers: { "content-type": "application/json", origin: fleetUrl }, body: JSON.stringify(admin) });
  if (login.status !== 200) throw new Error(`login as ${admin.username} failed: HTTP ${login.status} ${await login.text()}`);
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
  // A cookie session's writes carry its CSRF token, as the console's do.
  const { csrfToken } = await login.json();
  return async (method, route, body) => {
    const res = await fetch(`${fleetUrl}${route}`, {
      method,
      headers: { cookie, origin: fleetUrl, "x-csrf-token": csrfToken, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${route}: HTTP ${res.status} ${text}`);
    return JSON.parse(text);
  };
}

/**
 * Seeds the fleet's catalog at the first start (see the top of this file). `machines` are the demo machine configs
 * (`machineId`, `catalog`). Resolves with what it did: `{seeded: false, reason}` or `{seeded: true, products, slots}`.
 */
export async function seedDemoCatalog({ fleetUrl, admin, demoDir, machines, timeoutMs = 60_000 }) {
  const marker = path.join(demoDir, "catalog-seeded.json");
  if (existsSync(marker)) return { seeded: false, reason: "seeded at an earlier start; the catalog is the operator's" };
  const seed = demoCatalog(machines);
  const api = await fleetClient(fleetUrl, admin);
  const current = await api("GET", "/api/catalog");
  const ours = new Set(seed.products.map((p) => p.id));
  // Anything but (part of) this seed: the operator's catalog, left alone.
  if (current.products.some((p) => !ours.has(p.id)) || current.assignments.some((a) => !ours.has(a.product))) {
    return { seeded: false, reason: "the catalog already holds the operator's products" };
  }
  // A slot can be given a product once its machine has introduced itself to the fleet (its birth names its slots).
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = await api("GET", "/api/machines");
    const known = new Map((Array.isArray(list) ? list : list.machines).map((m) => [m.id, m]));
    if (machines.every((m) => known.has(m.machineId))) break;
    if (Date.now() > deadline) throw new Error(`the machines did not report to the fleet within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const sharp = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), "../apps/fleet/package.json"))("sharp");
  const have = new Set(current.products.map((p) => p.id));
  for (const p of seed.products) {
    if (have.has(p.id)) continue; // from a first start that stopped half-way
    const png = await sharp(Buffer.from(p.svg)).png().toBuffer();
    const up = await api("POST", "/api/pictures", { dataBase64: png.toString("base64") });
    await api("PUT", `/api/catalog/products/${p.id}`, { names: p.names, icon: p.icon, picture: up.picture.sha256, price: p.price });
  }
  const assigned = new Set(current.assignments.map((a) => `${a.machineId}/${a.slot}`));
  for (const a of seed.assignments) {
    if (assigned.has(`${a.machineId}/${a.slot}`)) continue;
    await api("PUT", `/api/catalog/machines/${a.machineId}/slots/${a.slot}`, { product: a.product, ...(a.price ? { price: a.price } : {}) });
  }
  writeFileSync(marker, JSON.stringify({ seededAt: new Date().toISOString(), products: seed.products.map((p) => p.id) }, null, 2) + "\n", { mode: 0o600 });
  return { seeded: true, products: seed.products.length, slots: seed.assignments.length };
}
