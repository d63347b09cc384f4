import { css } from "lit";

// The header is one row at every width down to 601 px: the nav takes the room left by the title, the live dot and
// the user menu, and scrolls sideways (no scrollbar drawn) when its links do not fit. Up to 1100 px the title, the
// live state's word, the user's name and "Set up" of the 2FA button shrink to what identifies them (still read by
// screen readers) and the links are tighter: an admin's eight links fit at 800 px. Up to 600 px (a phone) the nav
// is a second row of its own, the full width, scrolling. Nothing in it wraps, so its height is one row whatever
// the links, the alert count or the connection state.

export const styles = css`
  :host { display: block; color: #e6e6e6; font: 14px system-ui, sans-serif; }
  header { display: flex; gap: 12px; align-items: center; padding: 8px 16px; background: #181b22; border-bottom: 1px solid #2a2f3a; }
  header h1 { flex: none; font-size: 16px; margin: 0 4px 0 0; color: #f7931a; white-space: nowrap; }
  nav { flex: 1 1 auto; min-width: 0; display: flex; gap: 2px; overflow-x: auto; scrollbar-width: none; -webkit-overflow-scrolling: touch; }
  nav::-webkit-scrollbar { display: none; }
  nav a { flex: none; white-space: nowrap; color: #cfd3dc; text-decoration: none; padding: 6px 10px; border-radius: 6px; }
  nav a.active { background: #2a2f3a; color: #fff; }
  .live { flex: none; font-size: 12px; white-space: nowrap; }
  @media (max-width: 1100px) {
    header { gap: 8px; padding: 8px 12px; }
    header .brand, .live-text, .user-name { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
    .user .long { display: none; }
    nav a { padding: 6px 6px; font-size: 13px; }
    .live.on::before, .live.off::before { margin-right: 0; }
  }
  @media (max-width: 600px) {
    header { flex-wrap: wrap; padding: 6px 10px; row-gap: 4px; }
    header h1 { margin-right: auto; }
    nav { order: 3; flex: 1 0 100%; }
  }
  .live.on::before { content: "●"; color: #3fb950; margin-right: 4px; }
  .live.off::before { content: "●"; color: #f85149; margin-right: 4px; }
  main { padding: 16px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #2a2f3a; vertical-align: middle; }
  th { color: #9aa0ab; font-weight: 500; font-size: 12px; }
  a { color: #58a6ff; }
  .badge { display: inline-block; padding: 2px 8px; border-radius: 10px; font-size: 12px; background: #2a2f3a; }
  .status-online { background: #1f3b2a; color: #3fb950; }
  .status-offline, .status-unknown { background: #30363d; color: #9aa0ab; }
  .status-lost { background: #4a1d1d; color: #f85149; }
  .status-service { background: #3b2f1a; color: #d29922; }
  .sev-critical { background: #4a1d1d; color: #f85149; }
  .sev-warning { background: #3b2f1a; color: #d29922; }
  .sev-info { background: #1d2f4a; color: #58a6ff; }
  .pending { background: #3b2f1a; color: #d29922; }
  .applied { background: #1f3b2a; color: #3fb950; }
  .refused { background: #4a1d1d; color: #f85149; }
  .stock { display: inline-flex; gap: 4px; align-items: flex-end; }
  .stockbar { display: inline-block; width: 44px; height: 10px; background: #2a2f3a; border-radius: 3px; overflow: hidden; position: relative; }
  .stockbar > span { display: block; height: 100%; background: #3fb950; }
  .stockbar.low > span { background: #f85149; }
  .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; margin-bottom: 16px; }
  .card { background: #181b22; border: 1px solid #2a2f3a; border-radius: 8px; padding: 12px; }
  .card b { display: block; font-size: 22px; }
  section { background: #181b22; border: 1px solid #2a2f3a; border-radius: 8px; padding: 12px; margin-bottom: 16px; }
  section h2 { font-size: 14px; margin: 0 0 8px; color: #cfd3dc; }
  button { background: #2a2f3a; color: #e6e6e6; border: 1px solid #3a3f4a; border-radius: 6px; padding: 5px 10px; cursor: pointer; }
  button.primary { background: #f7931a; color: #111; border-color: #f7931a; }
  button:disabled { opacity: 0.5; cursor: default; }
  input[type="text"] { background: #0f1115; color: #e6e6e6; border: 1px solid #3a3f4a; border-radius: 6px; padding: 4px 6px; width: 90px; }
  select { background: #0f1115; color: #e6e6e6; border: 1px solid #3a3f4a; border-radius: 6px; padding: 4px; }
  .error { color: #f85149; margin: 8px 0; }
  .muted { color: #8b929e; font-size: 12px; }
  .user { flex: none; display: inline-flex; gap: 6px; align-items: center; font-size: 12px; white-space: nowrap; }
  .user button { white-space: nowrap; }
  .login { max-width: 360px; margin: 10vh auto; }
  .login input { width: 100%; box-sizing: border-box; background: #0f1115; color: #e6e6e6; border: 1px solid #3a3f4a; border-radius: 6px; padding: 6px; }
  code { background: #0f1115; padding: 2px 4px; border-radius: 4px; user-select: all; }
  .grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
  @media (max-width: 900px) { .grid2 { grid-template-columns: 1fr; } }
  .period b { font-size: 20px; }
  .period ol.top { margin: 6px 0 0; padding-left: 18px; font-size: 12px; }
  .thumb { display: inline-flex; align-items: center; justify-content: center; background: #0f1115; border-radius: 6px; font-size: 20px; object-fit: contain; vertical-align: middle; }
  .product { display: inline-flex; gap: 6px; align-items: center; }
  .product .thumb { width: 32px; height: 32px; font-size: 18px; }
  .scroll-x { overflow-x: auto; }
  /* A cell of unbroken text (JSON, a long id) wraps anywhere instead of widening its table past the page. */
  td.wrap { overflow-wrap: anywhere; }
  /* A table.stack on a phone: one block per row, its cells one under the other, each labelled by its data-label;
     the header row stays for screen readers only. The audit trail's six columns do not fit 360 px otherwise. */
  @media (max-width: 600px) {
    table.stack, table.stack tbody, table.stack tr, table.stack td { display: block; }
    table.stack thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
    table.stack tr { padding: 6px 0; border-bottom: 1px solid #2a2f3a; }
    table.stack td { padding: 1px 0; border: 0; overflow-wrap: anywhere; }
    table.stack td:empty { display: none; }
    table.stack td[data-label]::before { content: attr(data-label) " "; display: inline-block; min-width: 48px; color: #9aa0ab; font-size: 12px; }
  }
  pre.raw { margin: 4px 0 0; white-space: pre-wrap; word-break: break-all; font-size: 11px; color: #8b929e; }
  svg .tip { display: none; pointer-events: none; }
  svg .bar:hover .tip, svg .point:hover .tip, svg .bar:focus .tip, svg .point:focus .tip { display: inline; }
  svg .bar:hover rect[fill="#f7931a"], svg .bar:focus rect[fill="#f7931a"] { fill: #ffb454; }
  svg .bar, svg .point { cursor: pointer; -webkit-tap-highlight-color: transparent; }
  svg .bar:focus, svg .point:focus { outline: none; }
  svg .bar:focus-visible .hit, svg .point:focus-visible .hit { stroke: #58a6ff; stroke-width: 1.5; }
  /* Printing (the pick list): no navigation, black on white. */
  @media print { header { display: none; } main { padding: 0; } :host { color: #000; background: #fff; } }
`;
