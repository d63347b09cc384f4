import { svg, type SVGTemplateResult } from "lit";

/** A line chart of (x, y) points as inline SVG: no chart library, nothing to download. */
export function lineChart(points: ReadonlyArray<{ x: number; y: number }>, opts: { width: number; height: number; unit: string; band?: [number, number] }): SVGTemplateResult {
  const { width: w, height: h } = opts;
  if (points.length === 0) return svg`<text x="8" y="20" fill="#888">no data yet</text>`;
  const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  const y0 = Math.min(...ys, ...(opts.band ?? [])) - 1, y1 = Math.max(...ys, ...(opts.band ?? [])) + 1;
  const px = (x: number) => 30 + ((x - x0) / (x1 - x0)) * (w - 40);
  const py = (y: number) => h - 15 - ((y - y0) / (y1 - y0)) * (h - 25);
  const band = opts.band
    ? svg`<rect x="30" y=${py(opts.band[1])} width=${w - 40} height=${Math.max(0, py(opts.band[0]) - py(opts.band[1]))} fill="#1f3b2a"></rect>`
    : svg``;
  return svg`${band}
    <polyline fill="none" stroke="#f7931a" stroke-width="2" points=${points.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(" ")}></polyline>
    <text x="2" y=${py(y1) + 10} fill="#888" font-size="10">${y1.toFixed(0)}${opts.unit}</text>
    <text x="2" y=${py(y0)} fill="#888" font-size="10">${y0.toFixed(0)}${opts.unit}</text>`;
}

/** Bars with a label under each. */
export function barChart(bars: ReadonlyArray<{ label: string; value: number; title: string }>, opts: { width: number; height: number }): SVGTemplateResult {
  if (bars.length === 0) return svg`<text x="8" y="20" fill="#888">no sales in this period</text>`;
  const max = Math.max(...bars.map((b) => b.value), 1);
  const bw = (opts.width - 10) / bars.length;
  return svg`${bars.map((b, i) => {
    const bh = (b.value / max) * (opts.height - 30);
    return svg`<g><title>${b.title}</title>
      <rect class="bar" x=${5 + i * bw + 2} y=${opts.height - 18 - bh} width=${Math.max(1, bw - 4)} height=${bh} fill="#f7931a"></rect>
      <text x=${5 + i * bw + bw / 2} y=${opts.height - 4} fill="#888" font-size="10" text-anchor="middle">${b.label}</text></g>`;
  })}`;
}
