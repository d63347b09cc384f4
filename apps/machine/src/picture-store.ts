// The disk half of the fleet catalog's pictures (issue #18): verified pictures (the bridge's PictureFetcher checked
// hash, size and magic bytes) under `<dataDir>/pictures/<sha256>.<webp|avif>`, written atomically (temp file, fsync,
// rename, fsync of the folder: a power cut leaves the old state or the whole new file, never half a picture), served
// to the kiosk by hash, and pruned to what the applied catalog still references, at start-up and after each applied
// desired state (the SD card keeps only what is shown).
import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import path from "node:path";
import { PICTURE_EXTENSION, type PictureRef, type PictureType } from "@zapvend/protocol";
import type { Logger } from "./log.js";

const FILE_RE = /^([0-9a-f]{64})\.(webp|avif)$/;
const TYPE_OF_EXT: Readonly<Record<string, PictureType>> = { webp: "image/webp", avif: "image/avif" };

export interface StoredPicture {
  file: string;
  type: PictureType;
}

export class PictureStore {
  /** What is on disk: hash -> type. Built by `open()`, kept in step by `put` and `prune`. */
  private readonly index = new Map<string, PictureType>();

  /** No I/O: `open()` creates the folder and reads what it holds. */
  constructor(
    readonly dir: string,
    private readonly log?: Logger,
  ) {}

  /** Creates the folder (0700, like the data dir) and indexes its pictures; removes temp files a crash left. */
  open(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    this.index.clear();
    for (const name of readdirSync(this.dir)) {
      const m = FILE_RE.exec(name);
      if (m) this.index.set(m[1]!, TYPE_OF_EXT[m[2]!]!);
      else if (name.includes(".tmp-")) rmSync(path.join(this.dir, name), { force: true });
    }
  }

  has(sha256: string): boolean {
    return this.index.has(sha256);
  }

  /** The stored file of a picture, or undefined. `sha256` must already be checked as 64 lower-case hex digits. */
  get(sha256: string): StoredPicture | undefined {
    const type = this.index.get(sha256);
    return type ? { file: path.join(this.dir, `${sha256}.${PICTURE_EXTENSION[type]}`), type } : undefined;
  }

  /** Writes verified bytes atomically. */
  put(ref: PictureRef, bytes: Uint8Array): void {
    const final = path.join(this.dir, `${ref.sha256}.${PICTURE_EXTENSION[ref.type]}`);
    const tmp = `${final}.tmp-${randomBytes(6).toString("hex")}`;
    const fd = openSync(tmp, "wx", 0o600);
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } catch (err) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw err;
    }
    closeSync(fd);
    renameSync(tmp, final);
    syncDir(this.dir);
    this.index.set(ref.sha256, ref.type);
  }

  /** Removes every picture whose hash is not in `keep`; returns how many were removed. */
  prune(keep: ReadonlySet<string>): number {
    let removed = 0;
    for (const [sha256, type] of [...this.index]) {
      if (keep.has(sha256)) continue;
      try {
        rmSync(path.join(this.dir, `${sha256}.${PICTURE_EXTENSION[type]}`), { force: true });
        this.index.delete(sha256);
        removed++;
      } catch (err) {
        this.log?.warn("unreferenced picture not removed", { sha256, error: (err as Error).message });
      }
    }
    if (removed > 0) this.log?.info("unreferenced pictures removed", { removed, kept: this.index.size });
    return removed;
  }

  get size(): number {
    return this.index.size;
  }
}

/** fsync of a folder, so the rename itself survives a power cut (ext4 on an SD card). */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Not every platform opens a folder for fsync; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
