import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    // `npm test` runs every package's suite at once through turbo on a 2-core CI machine: tests that spawn a
    // process, open a browser or a database wait for CPU there. A hang still fails, just not at vitest's 5 s default.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // expect.poll waits for something another process or the browser does: on the loaded CI machine that can take
    // longer than vitest's 1 s default (a kiosk test failed CI so). A poll that never succeeds still fails.
    expect: { poll: { timeout: 10_000 } },
  },
});
