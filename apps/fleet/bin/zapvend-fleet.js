#!/usr/bin/env node
// The zapvend-fleet bin, committed so that npm links it on `npm install` of a fresh clone (a bin that points into
// dist/ does not exist at install time, so npm would link nothing and npx would go to the registry). It runs the
// built command, or says how to build it.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const built = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(fileURLToPath(built))) {
  process.stderr.write("error: not_built: zapvend-fleet is not built yet: run `npm run build` in the repository root first\n");
  process.exit(2);
}
await import(built.href);
