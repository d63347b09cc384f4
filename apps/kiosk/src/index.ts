/**
 * @zapvend/kiosk: the lit screens of the machine's 800x480 touch display, built into static files that the machine
 * daemon serves at `/`. The Node entry only tells the daemon where those files are.
 */
export { kioskAssetsDir } from "./assets.js";
