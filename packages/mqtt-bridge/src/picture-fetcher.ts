// The MQTT half of the fleet catalog's pictures (issue #18): a machine subscribes to the retained topic of each
// picture it lacks (`zapvend/v1/pictures/<sha256>`, payload = the raw image bytes), checks size, hash and magic bytes
// against the desired state's reference, hands the verified bytes to its store, and unsubscribes. The disk half (the
// atomic write, serving, pruning) is the machine daemon's. Contract: protocol's fleet-catalog.ts (`PictureRef`,
// `sniffPictureType`, `MAX_PICTURE_BYTES`) and mqtt-topics.ts (`topics.picture`, `parsePictureTopic`).
import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import type { MqttClient } from "mqtt";
import { MAX_PICTURE_BYTES, parsePictureTopic, sniffPictureType, topics, type PictureRef } from "@zapvend/protocol";
import { silentLogger, type Logger } from "./clock.js";

/** Why a received picture was not stored. The same code goes to the log and the counters. */
export const PictureErrorCode = {
  /** More than MAX_PICTURE_BYTES (checked before hashing, so a huge payload costs nothing). */
  TOO_LARGE: "picture_too_large",
  /** The payload's length is not the `bytes` of the reference. */
  SIZE_MISMATCH: "picture_size_mismatch",
  /** sha256(payload) is not the hash of the topic and the reference. */
  HASH_MISMATCH: "picture_hash_mismatch",
  /** The first bytes are not those of a WebP (RIFF....WEBP) or an AVIF (ftypavif) file. */
  BAD_MAGIC: "picture_bad_magic",
  /** The magic bytes say another type than the reference's `type`. */
  TYPE_MISMATCH: "picture_type_mismatch",
  /** Verified, but the store could not write it (full disk, permissions); tried again on the next connection. */
  STORE_FAILED: "picture_store_failed",
} as const;
export type PictureErrorCode = (typeof PictureErrorCode)[keyof typeof PictureErrorCode];

export type PictureCheck = { ok: true } | { ok: false; code: PictureErrorCode; message: string };

/** Checks a received payload against the picture reference of the desired state. Pure; no I/O. */
export function verifyPicture(ref: PictureRef, bytes: Uint8Array): PictureCheck {
  if (bytes.length > MAX_PICTURE_BYTES) return { ok: false, code: PictureErrorCode.TOO_LARGE, message: `${bytes.length} bytes, at most ${MAX_PICTURE_BYTES}` };
  if (bytes.length !== ref.bytes) return { ok: false, code: PictureErrorCode.SIZE_MISMATCH, message: `${bytes.length} bytes, the reference says ${ref.bytes}` };
  const hash = createHash("sha256").update(bytes).digest("hex");
  if (hash !== ref.sha256) return { ok: false, code: PictureErrorCode.HASH_MISMATCH, message: `sha256 ${hash.slice(0, 16)}…, expected ${ref.sha256.slice(0, 16)}…` };
  const type = sniffPictureType(bytes);
  if (type === null) return { ok: false, code: PictureErrorCode.BAD_MAGIC, message: "neither a WebP nor an AVIF file" };
  if (type !== ref.type) return { ok: false, code: PictureErrorCode.TYPE_MISMATCH, message: `a ${type} file, the reference says ${ref.type}` };
  return { ok: true };
}

export interface PictureFetcherCounters {
  /** Payloads received on a wanted picture's topic. */
  received: number;
  /** Verified and stored. */
  stored: number;
  /** Refused by `verifyPicture` (never stored). */
  refused: number;
  /** Verified but the store failed. */
  storeFailed: number;
}

export interface PictureFetcherEvents {
  stored: [ref: PictureRef];
  refused: [{ sha256: string; code: PictureErrorCode; message: string }];
}

export interface PictureFetcherOptions {
  /** Writes verified bytes (atomically); a throw is logged and counted, and the picture is asked for again later. */
  store: (ref: PictureRef, bytes: Buffer) => void | Promise<void>;
  logger?: Logger;
}

/**
 * Which pictures the machine still needs, and their subscriptions. `want()` replaces the set (the machine computes it
 * from its applied catalog minus what its store holds); a subscription is made for each while connected, made again
 * on every connection (the retained message comes with each subscribe: a picture the fleet published late, or again
 * after a broker lost it, arrives then), and dropped once the picture is stored or no longer wanted.
 */
export class PictureFetcher extends EventEmitter<PictureFetcherEvents> {
  readonly counters: PictureFetcherCounters = { received: 0, stored: 0, refused: 0, storeFailed: 0 };
  private readonly logger: Logger;
  private readonly wanted = new Map<string, PictureRef>();
  /** Hashes being written now: a second delivery of the same retained message meanwhile is ignored. */
  private readonly storing = new Set<string>();
  private client: MqttClient | undefined;

  constructor(private readonly opts: PictureFetcherOptions) {
    super();
    this.logger = opts.logger ?? silentLogger;
  }

  /** The hashes still wanted. */
  get pending(): string[] {
    return [...this.wanted.keys()];
  }

  /** Whether `topic` is a picture topic (then `handle` takes it, not the JSON message path). */
  static isPictureTopic(topic: string): boolean {
    return topic.startsWith(PICTURE_PREFIX);
  }

  /** Replaces the set of missing pictures: subscribes to the new ones (when connected), unsubscribes the dropped. */
  want(refs: Iterable<PictureRef>): void {
    const next = new Map<string, PictureRef>();
    for (const r of refs) next.set(r.sha256, r);
    const dropped = [...this.wanted.keys()].filter((h) => !next.has(h));
    const added = [...next.keys()].filter((h) => !this.wanted.has(h));
    this.wanted.clear();
    for (const [h, r] of next) this.wanted.set(h, r);
    if (dropped.length > 0) this.unsubscribe(dropped);
    if (added.length > 0) this.subscribe(added);
  }

  /** The bridge connected (first time or again): ask for every wanted picture. */
  connected(client: MqttClient): void {
    this.client = client;
    if (this.wanted.size > 0) {
      this.logger.info("asking for missing pictures", { count: this.wanted.size });
      this.subscribe([...this.wanted.keys()]);
    }
  }

  detach(): void {
    this.client = undefined;
  }

  /** A message on a picture topic. Never throws. */
  async handle(topic: string, payload: Buffer): Promise<void> {
    const parsed = parsePictureTopic(topic);
    if (!parsed.ok) return;
    const { sha256 } = parsed.value;
    const ref = this.wanted.get(sha256);
    if (!ref) {
      // A subscription of an earlier run kept by the broker's session (clean: false), or an empty retained message
      // (the fleet cleared it): nothing to do but not to be asked again.
      if (payload.length > 0 && !this.storing.has(sha256)) this.unsubscribe([sha256]);
      return;
    }
    if (this.storing.has(sha256) || payload.length === 0) return;
    this.counters.received++;
    const check = verifyPicture(ref, payload);
    if (!check.ok) {
      // Kept wanted and subscribed: a corrected picture the fleet publishes again under the same topic still comes.
      this.counters.refused++;
      this.logger.warn("picture refused", { sha256, code: check.code, message: check.message, bytes: payload.length });
      this.safeEmit("refused", { sha256, code: check.code, message: check.message });
      return;
    }
    this.storing.add(sha256);
    try {
      await this.opts.store(ref, payload);
    } catch (err) {
      this.counters.storeFailed++;
      this.logger.error("picture verified but not stored; asked for again on the next connection", { sha256, code: PictureErrorCode.STORE_FAILED, error: (err as Error).message });
      return;
    } finally {
      this.storing.delete(sha256);
    }
    this.counters.stored++;
    if (this.wanted.get(sha256) === ref) this.wanted.delete(sha256);
    this.unsubscribe([sha256]);
    this.logger.info("picture stored", { sha256, type: ref.type, bytes: ref.bytes });
    this.safeEmit("stored", ref);
  }

  private subscribe(hashes: string[]): void {
    const client = this.client;
    if (!client?.connected) return; // `connected()` subscribes once the connection is there
    client.subscribe(
      hashes.map((h) => topics.picture(h)),
      { qos: 1 },
      (err) => {
        if (err) this.logger.error("picture subscribe failed", { count: hashes.length, error: err.message });
      },
    );
  }

  private unsubscribe(hashes: string[]): void {
    const client = this.client;
    if (!client?.connected) return;
    client.unsubscribe(
      hashes.map((h) => topics.picture(h)),
      (err?: Error) => {
        if (err) this.logger.warn("picture unsubscribe failed", { count: hashes.length, error: err.message });
      },
    );
  }

  private safeEmit<K extends keyof PictureFetcherEvents>(event: K, ...args: PictureFetcherEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: PictureFetcherEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.logger.error("event listener threw", { event, error: (err as Error).message });
    }
  }
}

const PICTURE_PREFIX = `${topics.picturesFilter().slice(0, -1)}`;
