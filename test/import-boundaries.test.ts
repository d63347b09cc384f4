// The import direction of DESIGN.md is enforced by the `zapvend/import-boundaries` ESLint rule. These tests lint
// forbidden code as if it stood in the repository, so a rule that stops catching violations fails `npm test`.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";
import { allowedWorkspaceImports, checkImport, repoRoot } from "../tools/import-boundaries.js";

const eslint = new ESLint({ cwd: repoRoot });

async function lint(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(repoRoot, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === "zapvend/import-boundaries").map((m) => m.message);
}

describe("import boundaries", () => {
  it("fails a package that imports against the direction of DESIGN.md", async () => {
    expect(await lint("packages/hal/src/pump.ts", 'import { decodeInvoice } from "@zapvend/payments";\n')).toEqual([
      expect.stringContaining("packages/hal may not import @zapvend/payments"),
    ]);
    expect(await lint("packages/payments/src/x.ts", 'export * from "@zapvend/hal";\n')).toHaveLength(1);
    expect(await lint("packages/protocol/src/x.ts", 'import "@zapvend/controller";\n')).toHaveLength(1);
    expect(await lint("packages/controller/src/x.ts", 'const m = await import("@zapvend/machine");\n')).toHaveLength(1);
    expect(await lint("apps/fleet/src/server.ts", 'import { x } from "@zapvend/controller";\n')).toHaveLength(1);
    expect(await lint("apps/harness/src/cli.ts", 'import { x } from "@zapvend/payments";\n')).toHaveLength(1);
  });

  it("fails an app that imports another app", async () => {
    expect(await lint("apps/machine/src/main.ts", 'import { x } from "@zapvend/kiosk";\n')).toHaveLength(1);
    expect(await lint("apps/fleet/src/main.ts", 'import { x } from "../../machine/src/main.js";\n')).toEqual([
      expect.stringContaining("leaves apps/fleet"),
    ]);
  });

  it("allows the imports the design allows", async () => {
    expect(await lint("packages/controller/src/x.ts", 'import { a } from "@zapvend/hal";\nimport { b } from "@zapvend/payments";\nexport { a, b };\n')).toEqual([]);
    expect(await lint("apps/machine/src/x.ts", 'import { a } from "@zapvend/controller";\nexport { a };\n')).toEqual([]);
    expect(await lint("packages/hal/src/x.ts", 'import five from "johnny-five";\nimport { FaultCode } from "@zapvend/protocol";\nexport { five, FaultCode };\n')).toEqual([]);
    expect(await lint("packages/hal/src/x.ts", 'import { a } from "./boards/sim.js";\nexport { a };\n')).toEqual([]);
  });

  it("keeps johnny-five and raspi-io inside hal", async () => {
    expect(await lint("packages/controller/src/x.ts", 'import five from "johnny-five";\nexport { five };\n')).toEqual([
      expect.stringContaining("only packages/hal may import it"),
    ]);
    expect(await lint("apps/harness/src/x.ts", 'const r = require("raspi-io");\nexport { r };\n')).toHaveLength(1);
  });

  it("keeps Node packages out of browser code", async () => {
    expect(await lint("apps/kiosk/src/app.ts", 'import { readFileSync } from "node:fs";\nexport { readFileSync };\n')).toHaveLength(1);
    expect(await lint("apps/kiosk/src/app.ts", 'import EventEmitter from "events";\nexport { EventEmitter };\n')).toHaveLength(1);
    expect(await lint("apps/kiosk/src/app.ts", 'import mqtt from "mqtt";\nexport { mqtt };\n')).toHaveLength(1);
    expect(await lint("apps/fleet/src/console/app.ts", 'import { x } from "@zapvend/mqtt-bridge";\nexport { x };\n')).toHaveLength(1);
    expect(await lint("packages/protocol/src/x.ts", 'import { createHash } from "node:crypto";\nexport { createHash };\n')).toHaveLength(1);
    expect(await lint("apps/kiosk/src/app.ts", 'import { LitElement } from "lit";\nimport { Order } from "@zapvend/protocol";\nexport { LitElement, Order };\n')).toEqual([]);
  });

  it("refuses deep imports into another package's sources", () => {
    expect(checkImport(path.join(repoRoot, "packages/controller/src/x.ts"), "@zapvend/hal/src/pump.js")).toMatch(/deep import/);
    expect(checkImport(path.join(repoRoot, "packages/controller/src/x.ts"), "@zapvend/hal/sim")).toBeUndefined();
  });

  it("agrees with every workspace's declared dependencies", () => {
    for (const group of ["packages", "apps"]) {
      for (const name of readdirSync(path.join(repoRoot, group))) {
        const ws = `${group}/${name}`;
        const pkg = JSON.parse(readFileSync(path.join(repoRoot, ws, "package.json"), "utf8")) as Record<string, Record<string, string> | undefined>;
        const allowed = allowedWorkspaceImports[ws as keyof typeof allowedWorkspaceImports];
        expect(allowed, `${ws} is missing from tools/import-boundaries.js`).toBeDefined();
        const deps = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies });
        for (const dep of deps.filter((d) => d.startsWith("@zapvend/"))) {
          expect(allowed, `${ws} depends on ${dep}`).toContain(dep.slice("@zapvend/".length));
        }
      }
    }
  });
});
