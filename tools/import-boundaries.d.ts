export declare const repoRoot: string;
export declare const allowedWorkspaceImports: Record<
  "packages/protocol" | "packages/hal" | "packages/payments" | "packages/mqtt-bridge" | "packages/controller" | "apps/machine" | "apps/harness" | "apps/fleet" | "apps/kiosk",
  string[]
>;
export declare const hardwareOnlyModules: string[];
export declare const browserScopes: string[];
export declare const browserAllowedModules: string[];
export declare function workspaceOf(filename: string): { workspace: string; rel: string } | undefined;
export declare function checkImport(filename: string, source: string): string | undefined;
export declare const plugin: { meta: { name: string }; rules: Record<string, unknown> };
