// The import direction of DESIGN.md, enforced as an ESLint rule (`zapvend/import-boundaries`).
// One table says which workspace may import which; `npm run lint` (and so `npm test`) fails on any import
// against it. Kept as plain JavaScript so ESLint loads it without a build step.
import { builtinModules } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Which `@zapvend/*` workspaces each workspace may import. Direction (never the other way):
 * protocol <- hal, payments, mqtt-bridge <- controller <- apps/*. Apps never import each other;
 * hal and payments never import each other.
 */
export const allowedWorkspaceImports = {
  "packages/protocol": [],
  "packages/hal": ["protocol"],
  "packages/payments": ["protocol"],
  "packages/mqtt-bridge": ["protocol"],
  "packages/controller": ["protocol", "hal", "payments", "mqtt-bridge"],
  "apps/machine": ["protocol", "hal", "payments", "controller", "mqtt-bridge"],
  "apps/harness": ["protocol", "hal"],
  "apps/fleet": ["protocol", "mqtt-bridge"],
  "apps/kiosk": ["protocol"],
};

/** Packages that drive hardware: only `packages/hal` may import them. */
export const hardwareOnlyModules = ["johnny-five", "raspi-io", "raspi", "firmata", "firmata-io", "serialport", "pigpio"];

/**
 * Code that runs in a browser (or must be able to, as `protocol` does for the kiosk): no Node built-in, and only
 * the bare modules listed here.
 */
export const browserScopes = ["apps/kiosk/src/", "apps/fleet/src/console/", "packages/protocol/src/"];
export const browserAllowedModules = ["lit", "@lit/", "@zapvend/protocol", "zod", "uqr"];

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

function isBuiltin(source) {
  return source.startsWith("node:") || builtins.has(source) || builtins.has(source.split("/")[0]);
}

function moduleName(source) {
  const parts = source.split("/");
  return source.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** The workspace folder ("packages/hal") a file belongs to, or undefined outside every workspace. */
export function workspaceOf(filename) {
  const rel = path.relative(repoRoot, path.resolve(filename)).split(path.sep).join("/");
  const m = /^(packages|apps)\/([^/]+)\//.exec(rel);
  return m ? { workspace: `${m[1]}/${m[2]}`, rel } : undefined;
}

/**
 * Checks one import of one file. Returns undefined when allowed, else a message saying what is wrong.
 * Exported so that tools and tests can ask the same question ESLint asks.
 */
export function checkImport(filename, source) {
  const where = workspaceOf(filename);
  if (!where || typeof source !== "string") return undefined;
  const { workspace, rel } = where;
  const allowed = allowedWorkspaceImports[workspace];

  if (source.startsWith(".")) {
    const target = path.relative(repoRoot, path.resolve(path.dirname(path.resolve(filename)), source));
    const targetWs = workspaceOf(path.join(repoRoot, target, "x"));
    const inside = target.split(path.sep).join("/").startsWith(`${workspace}/`) || target === workspace;
    if (!inside && targetWs?.workspace !== workspace) {
      return `relative import "${source}" leaves ${workspace}; import the other package by its name`;
    }
    return undefined;
  }

  if (source.startsWith("@zapvend/")) {
    const [, name, ...rest] = source.split("/");
    if (rest[0] === "src" || rest[0] === "dist") {
      return `deep import "${source}": use the package's public entry (or a declared subpath export)`;
    }
    if (allowed === undefined) return `${workspace} is not in the import-boundary table (tools/import-boundaries.js)`;
    const own = workspace.split("/")[1];
    if (name !== own && !allowed.includes(name)) {
      return `${workspace} may not import @zapvend/${name} (allowed: ${allowed.map((a) => `@zapvend/${a}`).join(", ") || "none"}); see DESIGN.md`;
    }
  }

  const mod = moduleName(source);
  if (hardwareOnlyModules.includes(mod) && workspace !== "packages/hal") {
    return `"${mod}" drives hardware: only packages/hal may import it`;
  }

  // Tests beside browser code run in Node (vitest), so only the shipped sources are held to the browser rules.
  const isTest = /\.test\.[cm]?[jt]sx?$/.test(rel) || rel.includes("/__fixtures__/");
  if (!isTest && browserScopes.some((scope) => rel.startsWith(scope))) {
    if (isBuiltin(source)) return `browser code may not import the Node built-in "${source}"`;
    const ok = browserAllowedModules.some((a) => (a.endsWith("/") ? source.startsWith(a) : mod === a));
    if (!ok) {
      return `browser code may not import "${source}" (allowed: ${browserAllowedModules.join(", ")}); add it to tools/import-boundaries.js only if it runs in a browser`;
    }
  }
  return undefined;
}

const rule = {
  meta: {
    type: "problem",
    docs: { description: "Enforce the package import direction of DESIGN.md" },
    schema: [],
    messages: { forbidden: "{{message}}" },
  },
  create(context) {
    const filename = context.filename ?? context.getFilename();
    function check(node, sourceNode) {
      if (!sourceNode || sourceNode.type !== "Literal") return;
      const message = checkImport(filename, sourceNode.value);
      if (message) context.report({ node, messageId: "forbidden", data: { message } });
    }
    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => check(node, node.source),
      CallExpression(node) {
        if (node.callee.type === "Identifier" && node.callee.name === "require") check(node, node.arguments[0]);
      },
    };
  },
};

export const plugin = { meta: { name: "eslint-plugin-zapvend" }, rules: { "import-boundaries": rule } };
