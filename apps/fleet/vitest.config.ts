import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // expect.poll waits for something another process or the browser does: on the loaded CI machine that can take
    // longer than vitest's 1 s default (a kiosk test failed CI so). A poll that never succeeds still fails.
    expect: { poll: { timeout: 10_000 } },
  },
});
