// Bundles the lit console (src/console/main.ts) for the browser. Used by `npm run build` (through tsup.config.ts)
// and by the browser tests, so both serve the same bundle.
//
// Code splitting (issue 18): the console is an ES module entry (`console.js`) plus chunks in `chunks/`. A page
// that is not on the first screen is loaded with `await import("./xyz-view.js")` on its first navigation (see
// src/console/lazy.ts) and esbuild puts it, with whatever only it uses, in a lazy chunk; code shared between the
// entry and a lazy page goes to a shared chunk that the entry imports statically. `console-chunks.json` lists which
// files the first load needs (the entry and its static imports, transitively) and which are lazy: the size bench
// measures the first from it, and the server preloads them.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));

/** Writes `<outDir>/console.js`, `<outDir>/chunks/*.js` (+ maps) and `<outDir>/console-chunks.json`. */
export async function buildConsole(outDir = path.join(here, "dist", "console")) {
  const result = await build({
    entryPoints: { console: path.join(here, "src", "console", "main.ts") },
    outdir: outDir,
    bundle: true,
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    format: "esm",
    platform: "browser",
    target: ["chrome110", "firefox115", "safari16"],
    minify: true,
    sourcemap: true,
    legalComments: "linked",
    metafile: true,
    logLevel: "warning",
  });
  writeFileSync(path.join(outDir, "console-chunks.json"), JSON.stringify(chunkManifest(result.metafile, outDir), null, 2));
  return outDir;
}

/**
 * `{entry, firstLoad, lazy}`: paths relative to the output folder. `firstLoad` is the entry and every chunk it
 * imports statically (transitively); `lazy` every other JavaScript chunk (reached only through a dynamic import).
 */
export function chunkManifest(metafile, outDir) {
  const rel = (p) => path.relative(outDir, path.resolve(p)).split(path.sep).join("/");
  const outputs = Object.entries(metafile.outputs).filter(([p]) => p.endsWith(".js"));
  const byRel = new Map(outputs.map(([p, o]) => [rel(p), o]));
  const entry = "console.js";
  const firstLoad = [];
  const walk = (file) => {
    if (firstLoad.includes(file)) return;
    firstLoad.push(file);
    for (const imp of byRel.get(file)?.imports ?? []) if (imp.kind === "import-statement" && !imp.external) walk(rel(imp.path));
  };
  walk(entry);
  const lazy = [...byRel.keys()].filter((f) => !firstLoad.includes(f)).sort();
  return { entry, firstLoad, lazy };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await buildConsole();
