import { defineConfig } from "tsup";

export default defineConfig({
  // `sim`, `mdb` and `mdb-sim` are declared subpath exports (@zapvend/hal/sim, /mdb, /mdb-sim); the boards are split out and imported only when chosen.
  entry: { index: "src/index.ts", sim: "src/sim/index.ts", mdb: "src/mdb/index.ts", "mdb-sim": "src/mdb-sim/index.ts", "mdb-sim-cli": "src/mdb-sim/cli.ts" },
  format: ["esm"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
  // Hardware packages stay external: raspi-io and serialport are optional and must be resolved at run time.
  external: ["johnny-five", "firmata-io", "raspi-io", "serialport"],
});
