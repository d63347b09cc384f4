import { unsafeCSS } from "lit";
import { BASE_CSS } from "./kiosk-css.js";

// One look for every screen (kiosk-css.ts): light, high contrast, big type, targets of at least 48 px.
export const baseStyles = unsafeCSS(BASE_CSS);
