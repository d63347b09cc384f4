import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    // Integration tests talk to real Mosquitto processes; each test bounds its own waits well below this.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // expect.poll waits for something another process or the browser does: on the loaded CI machine that can take
    // longer than vitest's 1 s default (a kiosk test failed CI so). A poll that never succeeds still fails.
    expect: { poll: { timeout: 10_000 } },
  },
});
