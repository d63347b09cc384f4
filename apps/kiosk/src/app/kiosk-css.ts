// The kiosk's CSS as plain text, no lit: the screens wrap it with lit's `unsafeCSS` (styles.ts, product-card.ts,
// kiosk-app.ts), and the daemon's pre-rendered first screen (first-screen.ts) puts the very same rules into the page,
// so the products painted before the script runs sit exactly where the kiosk then draws them.
import { CJK_FONT_STACK, EMOJI_FONT_STACK, FONT_STACK } from "./glyphs.js";

// One look for every screen: light, high contrast, big type (a 7" 800x480 screen read at arm's length),
// targets of at least 48 px, and no motion for those who asked for none.
export const BASE_CSS = `
  :host {
    --bg: #f3f0e8;
    --card: #ffffff;
    --ink: #111111;
    --muted: #4a4a4a;
    --accent: #f7931a;
    --ok: #1d6b35;
    --bad: #a4161a;
    --line: #d6d0c4;
    display: block;
    width: 100%;
    height: 100%;
    background: var(--bg);
    color: var(--ink);
    font-family: ${FONT_STACK};
    font-size: 20px;
    line-height: 1.25;
    overflow: hidden;
    -webkit-user-select: none;
    user-select: none;
  }
  * {
    box-sizing: border-box;
  }
  button,
  a.button {
    font: inherit;
    min-height: 56px;
    min-width: 56px;
    padding: 8px 20px;
    border-radius: 12px;
    border: 2px solid var(--ink);
    background: var(--card);
    color: var(--ink);
    cursor: pointer;
    text-decoration: none;
    display: inline-flex;
    align-items: center;
    justify-content: center;
    gap: 8px;
    touch-action: manipulation;
  }
  button.primary {
    background: var(--accent);
    border-color: var(--accent);
    font-weight: 700;
  }
  button:disabled {
    opacity: 0.55;
    cursor: default;
  }
  button:focus-visible,
  a:focus-visible {
    outline: 4px solid #1f5fbf;
    outline-offset: 2px;
  }
  h1 {
    font-size: 30px;
    margin: 0;
  }
  h2 {
    font-size: 24px;
    margin: 0;
  }
  p {
    margin: 0;
  }
  .muted {
    color: var(--muted);
  }
  .screen {
    height: 100%;
    display: flex;
    flex-direction: column;
  }
  .center {
    flex: 1;
    display: flex;
    flex-direction: column;
    align-items: center;
    justify-content: center;
    gap: 18px;
    text-align: center;
    padding: 16px 40px;
  }
  .big {
    font-size: 34px;
    font-weight: 700;
  }
  .spinner {
    width: 56px;
    height: 56px;
    border: 6px solid var(--line);
    border-top-color: var(--accent);
    border-radius: 50%;
    animation: spin 1s linear infinite;
  }
  @keyframes spin {
    to {
      transform: rotate(360deg);
    }
  }
  @media (prefers-reduced-motion: reduce) {
    .spinner {
      animation: none;
      border-top-color: var(--line);
      border-right-color: var(--accent);
    }
    * {
      transition: none !important;
    }
  }
`;

/** The picture's box: fixed, so the card's layout is the same before, during and after the picture loads. */
export const PICTURE_CSS = `
  .pic {
    flex: none;
    object-fit: contain;
    border-radius: 8px;
  }
  .pic.card {
    width: 72px;
    height: 72px;
  }
  .pic.title {
    width: 48px;
    height: 48px;
    vertical-align: middle;
    margin-right: 8px;
  }
`;

/** The screens of `<zapvend-kiosk>` (header, catalog grid, footer, payment, vend, failure, out of service). */
export const KIOSK_CSS = `
  header {
    display: flex;
    align-items: center;
    gap: 12px;
    padding: 10px 16px;
    height: 76px;
    border-bottom: 2px solid var(--line);
  }
  header h1 {
    flex: 1;
  }
  .langs button {
    min-width: 56px;
    padding: 6px 12px;
    font-size: 18px;
  }
  .langs button[lang="ja"],
  .langs button[lang="zh"] {
    font-family: ${CJK_FONT_STACK};
  }
  .langs button[aria-pressed="true"] {
    background: var(--ink);
    color: var(--card);
  }
  .grid {
    flex: 1;
    overflow-y: auto;
    display: grid;
    grid-template-columns: repeat(3, 1fr);
    grid-auto-rows: 170px;
    gap: 12px;
    padding: 12px 16px;
  }
  .product {
    flex-direction: column;
    align-items: flex-start;
    justify-content: space-between;
    padding: 12px 16px;
    border-width: 2px;
    border-color: var(--line);
    text-align: left;
    height: 100%;
    width: 100%;
  }
  .product .top {
    display: flex;
    gap: 10px;
    align-items: center;
    width: 100%;
  }
  .product .icon {
    font-family: ${EMOJI_FONT_STACK};
    font-size: 40px;
    line-height: 1;
  }
  .product .icon.placeholder {
    font-family: ${FONT_STACK};
    display: inline-flex;
    align-items: center;
    justify-content: center;
    flex: none;
    width: 44px;
    height: 44px;
    border-radius: 10px;
    background: var(--line);
    color: var(--muted);
    font-size: 16px;
    font-weight: 700;
  }
  .product .name {
    font-size: 22px;
    font-weight: 700;
    overflow: hidden;
    display: -webkit-box;
    -webkit-line-clamp: 2;
    -webkit-box-orient: vertical;
  }
  .product .fiat {
    font-size: 28px;
    font-weight: 800;
  }
  .product .sats {
    font-size: 18px;
    color: var(--muted);
  }
  .product .badge {
    font-size: 20px;
    font-weight: 800;
    color: var(--bad);
  }
  footer {
    display: flex;
    align-items: center;
    gap: 12px;
    padding: 4px 16px;
    height: 48px;
    font-size: 15px;
    color: var(--muted);
    border-top: 2px solid var(--line);
  }
  footer .grow {
    flex: 1;
  }
  footer button {
    min-height: 40px;
    font-size: 15px;
    padding: 4px 12px;
    border-color: var(--line);
  }
  .banner {
    margin: 8px 16px 0;
    padding: 10px 14px;
    border-radius: 10px;
    background: #fde2e1;
    color: var(--bad);
    font-weight: 700;
  }
  .pay {
    flex: 1;
    display: grid;
    grid-template-columns: 380px 1fr;
    gap: 20px;
    padding: 12px 20px;
    align-items: center;
  }
  .qrcol {
    display: flex;
    flex-direction: column;
    align-items: center;
    gap: 6px;
    font-size: 18px;
  }
  .qr {
    width: 380px;
    height: 380px;
    background: #fff;
    display: flex;
    align-items: center;
    justify-content: center;
    border-radius: 8px;
  }
  .qr svg {
    width: 380px;
    height: 380px;
    shape-rendering: crispEdges;
  }
  .pay .side {
    display: flex;
    flex-direction: column;
    gap: 10px;
    min-width: 0;
  }
  .pay .side button,
  .pay .side a.button {
    font-size: 18px;
    min-height: 52px;
    padding: 6px 14px;
  }
  .amount {
    font-size: 38px;
    font-weight: 800;
  }
  .pay .fiatbig {
    font-size: 26px;
    font-weight: 700;
  }
  .countdown {
    font-size: 22px;
    font-variant-numeric: tabular-nums;
  }
  .product:disabled {
    opacity: 1;
    background: #e8e4da;
    color: #3a3a3a;
  }
  .product:disabled .icon {
    filter: grayscale(1);
  }
  .row {
    display: flex;
    gap: 10px;
    flex-wrap: wrap;
  }
  progress {
    width: 480px;
    height: 28px;
    accent-color: var(--accent);
  }
  .oos {
    background: #2b2b2b;
    color: #fff;
  }
  .oos .muted,
  .oos footer {
    color: #e6e6e6;
  }
  .oos .langs button {
    background: #2b2b2b;
    color: #fff;
    border-color: #fff;
  }
  .oos .langs button[aria-pressed="true"] {
    background: #fff;
    color: #111;
  }
  .mark {
    font-size: 72px;
    line-height: 1;
  }
  .credit {
    display: flex;
    align-items: center;
    gap: 12px;
    margin: 8px 16px 0;
    padding: 4px 4px 4px 14px;
    border-radius: 10px;
    background: #dcefe1;
    color: var(--ok);
    font-weight: 700;
  }
  .credit span {
    flex: 1;
  }
  .credit button {
    min-height: 48px;
  }
`;
