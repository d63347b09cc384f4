// Bundles the lit console (src/console/main.ts) into one ES module for the browser. Used by `npm run build`
// (through tsup.config.ts) and by the browser tests, so both serve the same bundle.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));

/** Writes `<outDir>/console.js` (+ map). */
export async function buildConsole(outDir = path.join(here, "dist", "console")) {
  await build({
    entryPoints: [path.join(here, "src", "console", "main.ts")],
    outfile: path.join(outDir, "console.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["chrome110", "firefox115", "safari16"],
    minify: true,
    sourcemap: true,
    legalComments: "linked",
    logLevel: "warning",
  });
  return outDir;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await buildConsole();
