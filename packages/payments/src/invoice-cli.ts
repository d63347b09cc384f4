#!/usr/bin/env node
// `zapvend-invoice`: decode or verify a BOLT 11 invoice from the command line (see src/bolt11/cli.ts).
import { runInvoiceCli } from "./bolt11/cli.js";

process.exitCode = runInvoiceCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
