import { afterEach, describe, expect, it } from "vitest";
import { topics } from "@zapvend/protocol";
import { startEmbeddedBroker, type EmbeddedBroker } from "./embedded-broker.js";
import { MachineBridge } from "./machine-bridge.js";
import { Recorder } from "./__fixtures__/subscriber.js";
import { bridgeOptions, memoryDb, operatorKey } from "./__fixtures__/machine.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("startEmbeddedBroker (aedes)", () => {
  it("falls back to a free port when the asked one is taken, and serves a machine's retained birth", async () => {
    const first = await startEmbeddedBroker({ port: 0 });
    cleanups.push(() => first.close());
    const second: EmbeddedBroker = await startEmbeddedBroker({ port: first.port });
    cleanups.push(() => second.close());
    expect(second.port).not.toBe(first.port);
    expect(second.url).toBe(`mqtt://127.0.0.1:${second.port}`);

    const bridge = new MachineBridge(bridgeOptions(second.url, "embedded-01", operatorKey(), memoryDb()));
    cleanups.push(() => bridge.stop());
    await bridge.start();
    const rec = await Recorder.connect(second.url, [topics.birth("embedded-01")]);
    cleanups.push(() => rec.close());
    await rec.waitFor(() => rec.on(topics.birth("embedded-01")).length > 0, 5_000, "retained birth");
    expect(rec.on(topics.birth("embedded-01"))[0]!.retain).toBe(true);
  });
});
