#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=1 --single-threaded-gc
// The zapvend-machine bin, committed so that npm links it on `npm install` of a fresh clone (a bin that points into
// dist/ does not exist at install time, so npm would link nothing and npx would go to the registry). It runs the
// built command, or says how to build it.
// The daemon's node flags and malloc setting, as on dist/cli.js's own first line (see apps/machine/src/cli.ts).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const built = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(fileURLToPath(built))) {
  process.stderr.write("error: not_built: zapvend-machine is not built yet: run `npm run build` in the repository root first\n");
  process.exit(2);
}
await import(built.href);
