// Pages loaded on their first navigation. The console build splits chunks (console-build.mjs): a module reached
// only through `import()` is its own file, fetched when a page first needs it, so the first load stays small while
// pages are added. A page's element is defined once its module has arrived.
//
// To add a lazy page: `await ensureElement("zv-fleet-xyz", () => import("./xyz-view.js").then((m) => m.FleetXyzView))`
// in the shell's navigate() for its route, and render `<zv-fleet-xyz .x=${…}>` there only when `defined("zv-fleet-xyz")`
// (a "loading…" line before): a property set on the tag before its class is defined is kept only when it is not one
// every Element already has (the machine page's `.role` became the ARIA `role` attribute and was lost; it is
// `.userRole` now), so binding only to a defined element avoids that whole class of surprise. Do not
// import the module statically anywhere in the first load (main.ts, app.ts, overview-view.ts, …), or it lands in the
// first load again.

import { ApiCallError } from "./api.js";

const loading = new Map<string, Promise<void>>();

/** The element's class is defined (its module has arrived). */
export const defined = (tag: string): boolean => customElements.get(tag) !== undefined;

/** Defines `tag` from a lazily loaded module the first time it is needed; later calls share the same load. */
export function ensureElement(tag: string, load: () => Promise<CustomElementConstructor | (new () => HTMLElement)>): Promise<void> {
  if (customElements.get(tag)) return Promise.resolve();
  let p = loading.get(tag);
  if (!p) {
    p = load().then(
      (ctor) => {
        if (!customElements.get(tag)) customElements.define(tag, ctor);
      },
      (err: unknown) => {
        throw new ApiCallError("page_load_failed", `this page could not be loaded from the fleet server (${err instanceof Error ? err.message : String(err)}); open it again`);
      },
    );
    // A failed load (network gone) is tried again at the next navigation.
    p.catch(() => loading.delete(tag));
    loading.set(tag, p);
  }
  return p;
}
