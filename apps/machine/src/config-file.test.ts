// The daemon's config file names its board; `gpiod` (any Pi, the Pi 5 included) is one of them.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./config-file.js";

function configWith(board: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "zapvend-config-"));
  const file = path.join(dir, "machine.json");
  writeFileSync(
    file,
    JSON.stringify({
      machineId: "drinks-01",
      board,
      // A real board with a real node (the sim wallet on a real board is refused: startup-checks.test.ts).
      payments: { backend: { kind: "lnd", url: "https://127.0.0.1:8080" }, network: "regtest" },
      pricing: { currency: "EUR", rate: { source: "fixed", msatPerUnit: "1000000" } },
      catalog: [{ slot: "P1", name: "Lemonade", kind: "pour", volumeMl: 250, price: { unit: "fiat", currency: "EUR", amountMinor: 250 }, stock: 4, capacity: 40 }],
      dataDir: "data",
    }),
  );
  return file;
}

describe("board.kind in the machine's config", () => {
  it("takes gpiod, with the pin map resolved beside the config", () => {
    const file = configWith({ kind: "gpiod", pinmap: "pinmap.json" });
    expect(loadConfig(file).board).toEqual({ kind: "gpiod", pinmap: path.join(path.dirname(file), "pinmap.json"), simFaults: [] });
  });

  it("refuses an unknown board with a coded error naming the field", () => {
    expect(() => loadConfig(configWith({ kind: "gpio", pinmap: "pinmap.json" }))).toThrow(/board\.kind/);
  });
});
