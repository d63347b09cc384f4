import { css, unsafeCSS } from "lit";
import { FONT_STACK } from "./glyphs.js";

// One look for every screen: light, high contrast, big type (a 7" 800x480 screen read at arm's length),
// targets of at least 48 px, and no motion for those who asked for none.
export const baseStyles = css`
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
    font-family: ${unsafeCSS(FONT_STACK)};
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
