import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";
import { plugin as zapvend } from "./tools/import-boundaries.js";

export default tseslint.config(
  {
    ignores: [
      "**/dist/**",
      "**/node_modules/**",
      "**/.turbo/**",
      "bench/results/**",
      "**/coverage/**",
      // Temporary files tsup and vitest write beside their configs while a build or test of the same package runs
      // in parallel with its lint (turbo runs them side by side): linting them races their deletion.
      "**/*.bundled_*.mjs",
      "**/*.timestamp-*.mjs",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    plugins: { zapvend },
    rules: {
      "zapvend/import-boundaries": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-restricted-syntax": [
        "error",
        { selector: "TSEnumDeclaration", message: "Use an `as const` object with a derived type, not a TS enum." },
      ],
    },
  },
  {
    files: ["apps/kiosk/src/**", "apps/fleet/src/console/**"],
    languageOptions: { globals: { ...globals.browser } },
  },
);
