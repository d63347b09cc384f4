// The browser entry of the kiosk: defines <zapvend-kiosk> (and the service menu it opens). Bundled into one
// minified file by tsup.config.ts; index.html loads it.
import "./kiosk-app.js";
