// The catalog pictures over MQTT (issue #18): the checks of a received file, and a MachineBridge on a real Mosquitto
// that asks for the pictures it lacks, refuses a wrong file, stores the right one once, and asks again after a
// broker restart that lost every subscription and retained message.
import { createHash, randomBytes } from "node:crypto";
import mqtt from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MAX_PICTURE_BYTES, topics, type PictureRef } from "@zapvend/protocol";
import { MachineBridge } from "./machine-bridge.js";
import { PictureErrorCode, verifyPicture } from "./picture-fetcher.js";
import { Mosquitto } from "./__fixtures__/mosquitto.js";
import { bridgeOptions, memoryDb, operatorKey } from "./__fixtures__/machine.js";

/** WebP's magic (RIFF <size> WEBP) around random bytes; AVIF's is an ftyp box of brand avif. */
function webp(size: number): Buffer {
  const b = randomBytes(size);
  b.write("RIFF", 0, "ascii");
  b.writeUInt32LE(size - 8, 4);
  b.write("WEBPVP8 ", 8, "ascii");
  return b;
}
function avif(size: number): Buffer {
  const b = randomBytes(size);
  b.writeUInt32BE(24, 0);
  b.write("ftypavif", 4, "ascii");
  return b;
}
const refOf = (b: Buffer, type: PictureRef["type"] = "image/webp"): PictureRef => ({
  sha256: createHash("sha256").update(b).digest("hex"),
  type,
  bytes: b.length,
  width: 64,
  height: 48,
});

describe("verifyPicture", () => {
  it("takes a WebP or an AVIF whose size, hash and type match the reference, and names what is wrong otherwise", () => {
    const w = webp(500);
    const a = avif(400);
    expect(verifyPicture(refOf(w), w)).toEqual({ ok: true });
    expect(verifyPicture(refOf(a, "image/avif"), a)).toEqual({ ok: true });
    const code = (ref: PictureRef, bytes: Buffer) => {
      const r = verifyPicture(ref, bytes);
      return r.ok ? "ok" : r.code;
    };
    expect(code(refOf(w), webp(500))).toBe(PictureErrorCode.HASH_MISMATCH);
    expect(code(refOf(w), w.subarray(0, 499))).toBe(PictureErrorCode.SIZE_MISMATCH);
    const big = webp(MAX_PICTURE_BYTES + 1);
    expect(code({ ...refOf(w), bytes: MAX_PICTURE_BYTES }, big)).toBe(PictureErrorCode.TOO_LARGE);
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(200)]);
    expect(code(refOf(png), png)).toBe(PictureErrorCode.BAD_MAGIC);
    expect(code(refOf(w, "image/avif"), w)).toBe(PictureErrorCode.TYPE_MISMATCH);
  });
});

describe("MachineBridge pictures on Mosquitto", () => {
  let broker: Mosquitto;
  const cleanups: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    // Without persistence: a restart loses the machine's session (its subscriptions) and every retained message.
    broker = await new Mosquitto({ persistence: false }).start();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await broker.dispose();
  });

  async function fleet() {
    const client = await mqtt.connectAsync(broker.url, { clientId: `fleet-${randomBytes(4).toString("hex")}`, clean: true, reconnectPeriod: 0 });
    cleanups.push(() => client.endAsync());
    return {
      client,
      publish: (ref: PictureRef, bytes: Buffer) => client.publishAsync(topics.picture(ref.sha256), bytes, { qos: 1, retain: true }),
    };
  }

  it("asks for the missing pictures, refuses a wrong file, stores the right one once, and asks again after a broker restart", async () => {
    const stored = new Map<string, Buffer>();
    const machineId = `pics-${process.pid}`;
    const bridge = new MachineBridge({
      ...bridgeOptions(broker.url, machineId, operatorKey(), memoryDb(), {}),
      storePicture: (ref, bytes) => void stored.set(ref.sha256, Buffer.from(bytes)),
    });
    cleanups.push(() => bridge.stop());
    const first = webp(800);
    const second = avif(600);
    const firstRef = refOf(first);
    const secondRef = refOf(second, "image/avif");
    // Wanted before the connection: asked for once it is up.
    bridge.pictures!.want([firstRef, secondRef]);
    let f = await fleet();
    await f.publish(firstRef, webp(800)); // same size, other bytes: the hash does not match
    await bridge.start();
    // Every picture message that reaches the machine's client, wanted or not.
    let onWire = 0;
    bridge["conn"]!.client.on("message", (topic) => {
      if (topic.startsWith("zapvend/v1/pictures/")) onWire++;
    });
    await expect.poll(() => bridge.pictures!.counters.refused).toBe(1);
    expect(stored.size).toBe(0);
    await f.publish(firstRef, first);
    await expect.poll(() => stored.get(firstRef.sha256)?.equals(first)).toBe(true);
    expect(bridge.pictures!.pending).toEqual([secondRef.sha256]);
    // Once stored, the topic is no longer subscribed: the same file published again is not received.
    const before = onWire;
    // The unsubscribe is sent right after the store; its UNSUBACK empties the client's outgoing packets.
    await expect.poll(() => bridge.pictures!.counters.stored).toBe(1);
    await expect.poll(() => Object.keys(bridge["conn"]!.client.outgoing).length).toBe(0);
    await f.publish(firstRef, first);
    await f.publish(firstRef, first);
    // Then a message on a topic the machine does subscribe (not a valid command: counted as invalid). One publisher's
    // QoS 1 messages reach a subscriber in order: once it is in, the pictures would have been too.
    await f.client.publishAsync(topics.command(machineId, "reboot"), "not json", { qos: 1 });
    await expect.poll(() => bridge.counters.invalidMessages).toBe(1);
    expect(onWire).toBe(before);

    // The broker restarts and forgets everything; the fleet publishes the second picture on its reconnection, the
    // machine subscribes again on its own and gets it.
    await f.client.endAsync();
    await broker.restart();
    f = await fleet();
    await f.publish(secondRef, second);
    await expect.poll(() => stored.get(secondRef.sha256)?.equals(second), { timeout: 15_000 }).toBe(true);
    expect(bridge.pictures!.pending).toEqual([]);
    expect(bridge.pictures!.counters).toMatchObject({ stored: 2, refused: 1, storeFailed: 0 });
  });

  it("a store that fails is counted and the picture asked for again on the next connection", async () => {
    let failNext = true;
    const stored = new Map<string, Buffer>();
    const bridge = new MachineBridge({
      ...bridgeOptions(broker.url, `pics-fail-${process.pid}`, operatorKey(), memoryDb(), {}),
      storePicture: (ref, bytes) => {
        if (failNext) {
          failNext = false;
          throw new Error("ENOSPC: no space left on device");
        }
        stored.set(ref.sha256, Buffer.from(bytes));
      },
    });
    cleanups.push(() => bridge.stop());
    const pic = webp(300);
    const ref = refOf(pic);
    const f = await fleet();
    await f.publish(ref, pic);
    bridge.pictures!.want([ref]);
    await bridge.start();
    await expect.poll(() => bridge.pictures!.counters.storeFailed).toBe(1);
    expect(bridge.pictures!.pending).toEqual([ref.sha256]);
    // The next connection asks again (the retained file comes with the new subscription).
    bridge["conn"]!.client.stream.destroy();
    await expect.poll(() => stored.has(ref.sha256), { timeout: 15_000 }).toBe(true);
    expect(bridge.pictures!.pending).toEqual([]);
    expect(bridge.pictures!.counters).toMatchObject({ stored: 1, storeFailed: 1 });
  });
});
