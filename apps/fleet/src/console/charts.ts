// The console's charts as inline SVG (no chart library: this file is 1.6 KB gzip in the bundle, where uPlot 1.6.32
// is 21.5 KB gzip and Chart.js 4.6.2 70.2 KB, of a 40 KB budget; figures in the fleet README, "Overview"). Each chart has a y axis with round ticks and grid lines, labelled
// x ticks, and a tooltip per bar or point: an SVG <title> (the browser's own tooltip) and a box drawn by CSS (`.tip`,
// see styles.ts) on hover and on focus, so the value is readable without a mouse delay, by touch and by keyboard.
// Each bar or point is focusable and named by its value (role img + aria-label, for screen readers): a tap focuses
// it (its box shows; a tap elsewhere takes the focus away and hides it), Tab reaches one per chart (the first bar,
// the newest point) and the arrow keys, Home and End move between them (a roving tabindex: one tab stop per chart,
// not one per sample). The chart's <svg> is a `role="group"` with its label, so its bars are not hidden as parts
// of one image.
import { svg, type SVGTemplateResult } from "lit";

/** `top` leaves a strip above the plot for the hover tooltip, so no later bar or point is drawn over it. */
const PAD = { left: 46, right: 8, top: 26, bottom: 22 };
/** The widest a bar gets (one machine's bar must not fill the chart). */
const MAX_BAR = 64;

/** 1, 2, 2.5 or 5 times a power of ten: about `count` ticks from 0 (or `min`) to at least `max`. */
export function niceTicks(min: number, max: number, count = 4): number[] {
  if (!(max > min)) max = min + 1;
  const raw = (max - min) / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  const first = Math.floor(min / step) * step;
  const ticks: number[] = [];
  for (let t = first; t < max + step * 0.999; t += step) ticks.push(Math.round(t * 1e6) / 1e6);
  return ticks;
}

/** A compact number for an axis: 1,500 / 12.5k / 3.2M. */
export function compact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  return Number.isInteger(v) ? v.toLocaleString("en-US") : String(+v.toFixed(2));
}

function yAxis(ticks: number[], py: (v: number) => number, width: number, unit: string): SVGTemplateResult {
  return svg`<g class="axis y" data-axis="y">${ticks.map(
    (t) => svg`<line x1=${PAD.left} x2=${width - PAD.right} y1=${py(t)} y2=${py(t)} stroke="#2a2f3a"></line>
      <text x=${PAD.left - 4} y=${py(t) + 3} fill="#8b929e" font-size="10" text-anchor="end" data-tick>${compact(t)}${unit}</text>`,
  )}</g>`;
}

/** The bars or points of the chart holding `g`, in order. */
function marks(g: Element): Element[] {
  return [...(g.parentNode?.children ?? [])].filter((e) => e.classList.contains(g.classList.contains("bar") ? "bar" : "point"));
}

/**
 * A tap or click focuses the bar or point (focus shows its value; iOS does not focus an SVG element by itself), and
 * the next press anywhere else takes the focus away (iOS keeps it on a tap on something that cannot take it).
 */
function onTap(e: Event): void {
  const g = e.currentTarget as SVGGElement;
  g.focus();
  const doc = g.ownerDocument;
  doc.addEventListener("pointerdown", (next) => void (next.composedPath().includes(g) || g.blur()), { capture: true, once: true });
}

/** Arrow keys, Home and End move the focus (and the chart's one tab stop) to another bar or point; Escape leaves. */
function onKey(e: KeyboardEvent): void {
  const g = e.currentTarget as SVGGElement;
  if (e.key === "Escape") return g.blur();
  const all = marks(g);
  const i = all.indexOf(g);
  const to = { ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1, ArrowUp: i - 1, Home: 0, End: all.length - 1 }[e.key];
  if (to === undefined) return;
  e.preventDefault();
  const next = all[Math.max(0, Math.min(all.length - 1, to))] as SVGGElement | undefined;
  if (!next || next === g) return;
  for (const m of all) m.setAttribute("tabindex", m === next ? "0" : "-1");
  next.focus();
}

/** A tooltip box in the strip above the plot, centred on x, shown while its group is hovered. */
function tip(x: number, width: number, text: string): SVGTemplateResult {
  const w = Math.min(width - 4, text.length * 6 + 10);
  const left = Math.max(2, Math.min(width - w - 2, x - w / 2));
  const top = 3;
  return svg`<g class="tip"><rect x=${left} y=${top} width=${w} height="18" rx="3" fill="#0f1115" stroke="#f7931a"></rect>
    <text x=${left + w / 2} y=${top + 12.5} fill="#e6e6e6" font-size="10" text-anchor="middle">${text}</text></g>`;
}

export interface Bar {
  label: string;
  value: number;
  /** The tooltip's text (`2026-03-29: 12 sales, 18,000 sat`). */
  title: string;
}

/**
 * Bars from 0 with a y axis in `unit`, a label under each bar (every n-th when they would overlap), the value on
 * top of each bar when there is room, and a tooltip per bar.
 */
export function barChart(bars: readonly Bar[], opts: { width: number; height: number; unit?: string; empty?: string }): SVGTemplateResult {
  const { width: w, height: h } = opts;
  if (bars.length === 0) return svg`<text x="8" y="20" fill="#888">${opts.empty ?? "no sales in this period"}</text>`;
  const ticks = niceTicks(0, Math.max(...bars.map((b) => b.value), 1));
  const top = ticks.at(-1)!;
  const plotH = h - PAD.top - PAD.bottom;
  const py = (v: number) => PAD.top + plotH - (v / top) * plotH;
  const bw = Math.min(MAX_BAR, (w - PAD.left - PAD.right) / bars.length);
  const every = Math.max(1, Math.ceil(bars.length / Math.floor((w - PAD.left) / 44)));
  const showValues = bw >= 28;
  return svg`${yAxis(ticks, py, w, opts.unit ?? "")}
    ${bars.map((b, i) => {
      const x = PAD.left + i * bw;
      const y = py(b.value);
      return svg`<g class="bar" data-bar=${b.label} data-value=${b.value} tabindex=${i === 0 ? "0" : "-1"} role="img" aria-label=${b.title} @click=${onTap} @keydown=${onKey}><title>${b.title}</title>
        <rect class="hit" x=${x} y=${PAD.top} width=${bw} height=${plotH} fill="transparent"></rect>
        <rect x=${x + Math.min(2, bw * 0.1)} y=${y} width=${Math.max(1, bw - Math.min(4, bw * 0.2))} height=${Math.max(0, PAD.top + plotH - y)} fill="#f7931a"></rect>
        ${showValues && b.value > 0 ? svg`<text x=${x + bw / 2} y=${y - 3} fill="#cfd3dc" font-size="9" text-anchor="middle">${compact(b.value)}</text>` : svg``}
        ${i % every === 0 ? svg`<text x=${x + bw / 2} y=${h - 6} fill="#8b929e" font-size="10" text-anchor="middle" data-xtick>${b.label}</text>` : svg``}
        ${tip(x + bw / 2, w, b.title)}</g>`;
    })}
    <line x1=${PAD.left} x2=${w - PAD.right} y1=${PAD.top + plotH} y2=${PAD.top + plotH} stroke="#5a606b"></line>`;
}

export interface Point {
  x: number;
  y: number;
}

/**
 * A line over time with dots at the samples, a y axis in `unit` (with an optional green band, e.g. the allowed
 * temperature range), time ticks labelled by `timeLabel`, and a tooltip per sample. A single sample is a dot.
 */
export function lineChart(
  points: readonly Point[],
  opts: { width: number; height: number; unit: string; band?: [number, number]; timeLabel: (ms: number) => string; digits?: number },
): SVGTemplateResult {
  const { width: w, height: h } = opts;
  if (points.length === 0) return svg`<text x="8" y="20" fill="#888">no data yet</text>`;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 60_000);
  const ticks = niceTicks(Math.min(...ys, ...(opts.band ?? [])) - 0.5, Math.max(...ys, ...(opts.band ?? [])) + 0.5);
  const y0 = ticks[0]!;
  const y1 = ticks.at(-1)!;
  const plotH = h - PAD.top - PAD.bottom;
  const px = (x: number) => PAD.left + 4 + ((x - x0) / (x1 - x0)) * (w - PAD.left - PAD.right - 8);
  const py = (y: number) => PAD.top + plotH - ((y - y0) / (y1 - y0)) * plotH;
  const digits = opts.digits ?? 1;
  const band = opts.band
    ? svg`<rect x=${PAD.left} y=${py(opts.band[1])} width=${w - PAD.left - PAD.right} height=${Math.max(0, py(opts.band[0]) - py(opts.band[1]))} fill="#1f3b2a" opacity="0.6"></rect>`
    : svg``;
  // Four time ticks, fewer when the span is so short that two would read the same.
  const xTicks = [0, 1 / 3, 2 / 3, 1].map((f) => x0 + f * (x1 - x0)).filter((t, i, all) => i === 0 || opts.timeLabel(t) !== opts.timeLabel(all[i - 1]!));
  return svg`${band}${yAxis(ticks, py, w, opts.unit)}
    ${xTicks.map((t, i) => svg`<text x=${px(t)} y=${h - 6} fill="#8b929e" font-size="10" text-anchor=${i === 0 ? "start" : i === xTicks.length - 1 ? "end" : "middle"} data-xtick>${opts.timeLabel(t)}</text>`)}
    <polyline fill="none" stroke="#f7931a" stroke-width="2" stroke-linejoin="round" points=${points.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(" ")} data-line></polyline>
    ${points.map((p, i) => {
      const text = `${opts.timeLabel(p.x)}: ${p.y.toFixed(digits)}${opts.unit}`;
      return svg`<g class="point" tabindex=${i === points.length - 1 ? "0" : "-1"} role="img" aria-label=${text} @click=${onTap} @keydown=${onKey}><title>${text}</title>
        <circle class="hit" cx=${px(p.x)} cy=${py(p.y)} r="6" fill="transparent"></circle>
        <circle cx=${px(p.x)} cy=${py(p.y)} r=${points.length > 60 ? 1.5 : 2.5} fill="#f7931a"></circle>${tip(px(p.x), w, text)}</g>`;
    })}`;
}
