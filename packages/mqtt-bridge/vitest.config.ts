import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    // Integration tests talk to real Mosquitto processes; each test bounds its own waits well below this.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
