/** Writes `<outDir>/console.js`, `<outDir>/chunks/*.js` (+ maps) and `console-chunks.json`; resolves with `outDir`. Default `dist/console`. */
export function buildConsole(outDir?: string): Promise<string>;

/** What `console-chunks.json` holds: paths relative to the output folder. */
export interface ConsoleChunks {
  entry: string;
  /** The entry and every chunk it imports statically (what the first page load fetches). */
  firstLoad: string[];
  /** Chunks reached only through a dynamic import (pages loaded on their first navigation). */
  lazy: string[];
}
