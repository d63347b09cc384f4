import { defineConfig } from "tsup";

export default defineConfig({
  // `sim` is a declared subpath export (@zapvend/hal/sim); the boards are split out and imported only when chosen.
  entry: { index: "src/index.ts", sim: "src/sim/index.ts" },
  format: ["esm"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
  // Hardware packages stay external: raspi-io and serialport are optional and must be resolved at run time.
  external: ["johnny-five", "firmata-io", "raspi-io", "serialport", "@iiot2k/gpiox"],
});
