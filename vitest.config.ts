import { configDefaults, defineConfig } from "vitest/config";

// The root suite: end-to-end and repository-wide checks in test/. Each package has its own suite beside its code.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // expect.poll waits for something another process or the browser does: on the loaded CI machine that can take
    // longer than vitest's 1 s default (a kiosk test failed CI so). A poll that never succeeds still fails.
    expect: { poll: { timeout: 10_000 } },
    projects: [
      { extends: true, test: { name: "root", include: ["test/**/*.test.ts"], exclude: [...configDefaults.exclude, "test/lightning/**"] } },
      {
        extends: true,
        test: {
          // The real-LND suites: one regtest network (btcd + 2 LND) for all of them, started by the global setup only
          // when a file of this project runs. Files run one at a time: they share the buyer's channel and crash nodes.
          name: "lightning",
          include: ["test/lightning/**/*.test.ts"],
          globalSetup: ["test/lightning/global-setup.ts"],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 400_000,
        },
      },
    ],
  },
});
