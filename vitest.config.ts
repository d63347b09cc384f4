import { defineConfig } from "vitest/config";

// The root suite: end-to-end and repository-wide checks in test/. Each package has its own suite beside its code.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // expect.poll waits for something another process or the browser does: on the loaded CI machine that can take
    // longer than vitest's 1 s default (a kiosk test failed CI so). A poll that never succeeds still fails.
    expect: { poll: { timeout: 10_000 } },
  },
});
