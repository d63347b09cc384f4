// Node side of the package: where the built kiosk is, for the machine daemon to serve at `/`.
// No Node built-in here: this folder is held to the browser import rules, and a URL is all it takes.

/**
 * The folder with the kiosk's static files (`index.html` and one minified `kiosk-<hash>.js`), as an absolute
 * file-system path ending with a separator. Built by `npm run build -w @zapvend/kiosk`; the daemon serves it
 * as-is (`index.html` uncached, the hashed script cacheable).
 */
export function kioskAssetsDir(): string {
  // dist/index.js sits next to dist/kiosk/.
  return decodeURIComponent(new URL("./kiosk/", import.meta.url).pathname);
}
