import { defineConfig } from "tsup";
import { buildConsole } from "./console-build.mjs";

export default defineConfig({
  entry: ["src/index.ts", "src/cli.ts"],
  format: ["esm"],
  dts: { entry: "src/index.ts" },
  clean: true,
  sourcemap: true,
  target: "node20",
  // The console is browser code: bundled separately with everything it imports (lit, protocol, zod).
  onSuccess: async () => {
    await buildConsole();
  },
});
