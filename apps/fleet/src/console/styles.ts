import { css } from "lit";

export const styles = css`
  :host { display: block; color: #e6e6e6; font: 14px system-ui, sans-serif; }
  header { display: flex; gap: 16px; align-items: center; padding: 10px 16px; background: #181b22; border-bottom: 1px solid #2a2f3a; }
  header h1 { font-size: 16px; margin: 0 12px 0 0; color: #f7931a; }
  nav a { color: #cfd3dc; text-decoration: none; padding: 6px 10px; border-radius: 6px; }
  nav a.active { background: #2a2f3a; color: #fff; }
  .live { margin-left: auto; font-size: 12px; }
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
  .user { display: inline-flex; gap: 6px; align-items: center; font-size: 12px; }
  .login { max-width: 360px; margin: 10vh auto; }
  .login input { width: 100%; box-sizing: border-box; background: #0f1115; color: #e6e6e6; border: 1px solid #3a3f4a; border-radius: 6px; padding: 6px; }
  code { background: #0f1115; padding: 2px 4px; border-radius: 4px; user-select: all; }
  .grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
  @media (max-width: 900px) { .grid2 { grid-template-columns: 1fr; } }
  .period b { font-size: 20px; }
  .period ol.top { margin: 6px 0 0; padding-left: 18px; font-size: 12px; }
  pre.raw { margin: 4px 0 0; white-space: pre-wrap; word-break: break-all; font-size: 11px; color: #8b929e; }
  svg .tip { display: none; pointer-events: none; }
  svg .bar:hover .tip, svg .point:hover .tip { display: inline; }
  svg .bar:hover rect[fill="#f7931a"] { fill: #ffb454; }
  /* Printing (the pick list): no navigation, black on white. */
  @media print { header { display: none; } main { padding: 0; } :host { color: #000; background: #fff; } }
`;
