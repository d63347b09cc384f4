/**
 * @zapvend/fleet: not built yet (see README.md). This entry exports nothing so that no one can depend on
 * behaviour that does not exist.
 */
export {};
