import { defineConfig } from "vitest/config";

// The root suite: end-to-end and repository-wide checks in test/. Each package has its own suite beside its code.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
