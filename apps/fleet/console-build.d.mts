/** Writes `<outDir>/console.js` (+ map) and resolves with `outDir`. Default `dist/console`. */
export function buildConsole(outDir?: string): Promise<string>;
