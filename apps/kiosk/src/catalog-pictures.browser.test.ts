// The fleet catalog on the kiosk (issue #18), in real Chromium against the machine's API contract (the fake machine
// serves `/pictures/<sha256>` and the catalog's `names` / `picture` as the daemon does): the picture shown lazily in a
// fixed box, the name in the buyer's language falling back to English, and the icon where there is no picture or it
// does not load. The WebP files are encoded by Chromium itself (canvas), so they are real images a browser decodes.
import { createHash } from "node:crypto";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import type { FakeMachine, FakeProduct } from "./__fixtures__/fake-machine.js";
import { kioskSuite, shot } from "./__fixtures__/browser.js";

const suite = kioskSuite();
let machine: FakeMachine | undefined;

/** A real WebP of `width` x `height`, encoded by Chromium's canvas. */
async function webp(width: number, height: number, color: string): Promise<Buffer> {
  const context = await suite.browser.newContext();
  try {
    const page = await context.newPage();
    const bytes = await page.evaluate(
      async ([w, h, c]) => {
        const canvas = new OffscreenCanvas(w, h);
        const g = canvas.getContext("2d")!;
        g.fillStyle = c;
        g.fillRect(0, 0, w, h);
        g.fillStyle = "#fff";
        g.fillRect(w / 4, h / 4, w / 2, h / 2);
        const blob = await canvas.convertToBlob({ type: "image/webp", quality: 0.8 });
        if (blob.type !== "image/webp") throw new Error(`this Chromium encoded ${blob.type}, not WebP`);
        return [...new Uint8Array(await blob.arrayBuffer())];
      },
      [width, height, color] as const,
    );
    return Buffer.from(bytes);
  } finally {
    await context.close();
  }
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

const NAMES = { en: "Cold brew", fr: "Café froid", ja: "水出しコーヒー", zh: "冷萃咖啡" };

/** A1 with a stored picture and four names; A2 whose stored file is not an image; B1 with English only, no picture. */
async function start(): Promise<{ coffee: Buffer }> {
  const coffee = await webp(160, 120, "#7a4a2a");
  const broken = Buffer.from("RIFF\u0000\u0000\u0000\u0000WEBPnot really a picture");
  const products: FakeProduct[] = [
    { slot: "A1", name: "Cold brew", kind: "pour", priceMsat: "2100000", fiatMinor: 250, stock: 12, capacity: 20, volumeMl: 250, icon: "☕", names: NAMES, picture: { sha256: sha(coffee), width: 160, height: 120 } },
    { slot: "A2", name: "Sparkling water", kind: "pour", priceMsat: "1260000", fiatMinor: 150, stock: 4, capacity: 20, volumeMl: 330, icon: "💧", names: { en: "Sparkling water", fr: "Eau gazeuse" }, picture: { sha256: sha(broken), width: 100, height: 100 } },
    { slot: "B1", name: "Dark chocolate", kind: "spiral", priceMsat: "1680000", fiatMinor: 200, stock: 5, capacity: 8, icon: "🍫", names: { en: "Dark chocolate" }, picture: { sha256: "ab".repeat(32), width: 80, height: 80 } },
  ];
  machine = await suite.startMachine({ products }, (m) => {
    m.pictures.set(sha(coffee), { type: "image/webp", bytes: coffee });
    m.pictures.set(sha(broken), { type: "image/webp", bytes: broken });
  });
  return { coffee };
}

async function open(lang?: string): Promise<Page> {
  return suite.open(machine!.url, lang ? { lang } : {});
}

const card = (page: Page, slot: string) => page.locator(`button[data-slot="${slot}"]`);

describe("kiosk: the fleet's pictures and names", () => {
  it("shows the stored picture lazily in a fixed box, and the icon where the picture is missing or broken", async () => {
    const { coffee } = await start();
    const page = await open();
    const pic = card(page, "A1").locator("img[data-picture]");
    await expect.poll(() => pic.count()).toBe(1);
    expect(await pic.getAttribute("src")).toBe(`/pictures/${sha(coffee)}`);
    expect(await pic.getAttribute("loading")).toBe("lazy");
    expect([await pic.getAttribute("width"), await pic.getAttribute("height")]).toEqual(["160", "120"]);
    // Decoded for real, at its own size, inside the card's fixed 72 px box.
    await expect.poll(() => pic.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(160);
    const box = await pic.boundingBox();
    expect([Math.round(box!.width), Math.round(box!.height)]).toEqual([72, 72]);
    expect(await card(page, "A1").locator("[data-icon]").count()).toBe(0);
    expect(machine!.requests.some((r) => r.path === `/pictures/${sha(coffee)}`)).toBe(true);

    // A2's file does not decode: the card shows its emoji instead of a broken image.
    await expect.poll(() => card(page, "A2").locator("img[data-picture]").count()).toBe(0);
    expect(await card(page, "A2").locator("[data-icon]").textContent()).toBe("💧");
    // B1's picture is not on the machine (not fetched yet): no picture in the catalog, the emoji.
    expect(await card(page, "B1").locator("img").count()).toBe(0);
    expect(await card(page, "B1").locator("[data-icon]").textContent()).toBe("🍫");
    await shot(page, "catalog-pictures");
  });

  it("names each product in the buyer's language, falling back to English", async () => {
    await start();
    const page = await open();
    const name = (slot: string) => card(page, slot).locator("[data-name]").textContent();
    await expect.poll(() => name("A1")).toContain("Cold brew");
    const expected: Record<string, [string, string, string]> = {
      fr: ["Café froid", "Eau gazeuse", "Dark chocolate"],
      ja: ["水出しコーヒー", "Sparkling water", "Dark chocolate"],
      zh: ["冷萃咖啡", "Sparkling water", "Dark chocolate"],
      en: ["Cold brew", "Sparkling water", "Dark chocolate"],
    };
    for (const [lang, [a1, a2, b1]] of Object.entries(expected)) {
      await page.locator(`.langs button[lang="${lang}"]`).click();
      await expect.poll(() => name("A1"), { message: lang }).toContain(a1);
      expect(await name("A2"), lang).toContain(a2);
      expect(await name("B1"), lang).toContain(b1);
      await shot(page, `catalog-names-${lang}`);
    }
    // The language of the link (?lang=) names them from the first paint on.
    const ja = await open("ja");
    await expect.poll(() => card(ja, "A1").locator("[data-name]").textContent()).toContain("水出しコーヒー");
  });

  it("the payment screen names the product in the buyer's language", async () => {
    await start();
    const page = await open("fr");
    await card(page, "A1").click();
    await expect.poll(() => page.locator("[data-product]").textContent()).toContain("Café froid");
  });
});
