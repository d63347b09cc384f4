import { defineConfig } from "tsup";

export default defineConfig({
  // Subpath `@zapvend/payments/sim` and the sim node's CLI (`dist/sim-node-cli.js`, started by `npm start`).
  // `invoice-cli` is the `zapvend-invoice` bin.
  entry: { index: "src/index.ts", "sim/index": "src/sim/index.ts", "sim-node-cli": "src/sim/cli.ts", "invoice-cli": "src/invoice-cli.ts" },
  format: ["esm"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
});
