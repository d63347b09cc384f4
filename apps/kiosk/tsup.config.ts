import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { defineConfig, type Options } from "tsup";

/**
 * The browser bundle imports `@zapvend/protocol` for its types only: protocol's runtime is zod schemas, ~35 KB gzip,
 * nearly the kiosk's whole 40 KB budget. A value import would slip in silently, so the build refuses it.
 */
const typesOnlyProtocol = {
  name: "types-only-protocol",
  setup(build: { onResolve: (o: { filter: RegExp }, cb: (a: { path: string; importer: string }) => unknown) => void }) {
    build.onResolve({ filter: /^(@zapvend\/protocol|zod)(\/.*)?$/ }, (a) => ({
      errors: [{ text: `${a.importer} imports "${a.path}" at run time: use \`import type\` (the kiosk bundle must stay within 40 KB gzip)` }],
    }));
  },
};

const browser: Options = {
  entry: { kiosk: "src/app/main.ts" },
  outDir: "dist/kiosk",
  format: ["esm"],
  platform: "browser",
  // Chromium on the Pi (Debian's, recent): no down-levelling needed.
  target: "es2022",
  minify: true,
  treeshake: false,
  // The QR encoder and the service menu are dynamic imports: chunks loaded after the first paint.
  splitting: true,
  sourcemap: false,
  dts: false,
  clean: false,
  noExternal: [/.*/],
  esbuildPlugins: [typesOnlyProtocol as never],
  esbuildOptions(o) {
    // A content hash in the name: the daemon may let browsers cache the script, never index.html.
    o.entryNames = "[name]-[hash]";
    o.chunkNames = "chunk-[hash]";
    o.legalComments = "none";
  },
  async onSuccess() {
    const script = readdirSync("dist/kiosk").find((f) => /^kiosk-[A-Z0-9]+\.js$/i.test(f));
    if (!script) throw new Error("kiosk bundle missing");
    // The chunks the entry imports statically are preloaded beside it (no waterfall: entry, parse, then chunk);
    // the dynamic ones (QR encoder, service menu) are not.
    const preload = new Set<string>();
    const follow = (file: string) => {
      for (const m of readFileSync(`dist/kiosk/${file}`, "utf8").matchAll(/(?:from|import)\s*"\.\/(chunk-[A-Z0-9]+\.js)"/gi)) {
        if (!preload.has(m[1]!)) {
          preload.add(m[1]!);
          follow(m[1]!);
        }
      }
    };
    follow(script);
    const links = [...preload].map((c) => `<link rel="modulepreload" href="./${c}" />`).join("\n    ");
    writeFileSync("dist/kiosk/index.html", readFileSync("src/app/index.html", "utf8").replace("%SCRIPT%", script).replace("<!-- %PRELOAD% -->", links));
  },
};

const node: Options = {
  entry: ["src/index.ts"],
  format: ["esm"],
  dts: true,
  clean: false,
  sourcemap: true,
  target: "node20",
};

/**
 * The first screen's pre-renderer for the daemon (src/app/first-screen.ts): an ES module in the kiosk folder it serves
 * (`.mjs`: imported as a module wherever that folder is copied), never loaded by the browser.
 */
const firstScreen: Options = {
  entry: { "first-screen": "src/app/first-screen.ts" },
  outDir: "dist/kiosk",
  format: ["esm"],
  platform: "neutral",
  target: "node20",
  outExtension: () => ({ js: ".mjs" }),
  minify: false,
  sourcemap: false,
  dts: false,
  clean: false,
  noExternal: [/.*/],
  esbuildPlugins: [typesOnlyProtocol as never],
};

export default defineConfig([node, browser, firstScreen]);
