// The kiosk's pre-rendered first screen (issue #18): the built kiosk brings its own renderer,
// `first-screen.mjs` in its folder (apps/kiosk src/app/first-screen.ts), so the products the daemon puts into
// index.html always have the markup and CSS of the kiosk served beside them. A kiosk folder without it (an older
// build) is served as before.
import { statSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

/** What `first-screen.mjs` exports: the page with the first screen in place, or the page unchanged. */
export type WithFirstScreen = (page: string, boot: unknown, lang: string | null) => string;

/** The file name of the renderer in the kiosk folder. */
export const FIRST_SCREEN_MODULE = "first-screen.mjs";

/**
 * Loads the kiosk folder's renderer once per version of the file (a kiosk rebuilt in place while the daemon runs
 * brings its new one: the module's URL carries the file's mtime). Undefined when the folder has none.
 */
export class FirstScreenLoader {
  private loaded: { key: string; fn: Promise<WithFirstScreen | undefined> } | undefined;

  constructor(private readonly kioskDir: string) {}

  async get(): Promise<WithFirstScreen | undefined> {
    const file = path.join(this.kioskDir, FIRST_SCREEN_MODULE);
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st?.isFile()) return undefined;
    const key = `${st.mtimeMs}-${st.size}`;
    if (this.loaded?.key !== key) {
      const url = `${pathToFileURL(file).href}?v=${key}`;
      this.loaded = {
        key,
        fn: import(url).then((m: { withFirstScreen?: unknown }) => {
          if (typeof m.withFirstScreen !== "function") throw new Error(`${file} exports no withFirstScreen`);
          return m.withFirstScreen as WithFirstScreen;
        }),
      };
    }
    return this.loaded.fn;
  }
}
