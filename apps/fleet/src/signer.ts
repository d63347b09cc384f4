// The operator's Ed25519 key signs every command and desired state. It is read once from the file the config
// names and stays in this process: nothing here ever serialises it.
import { createPrivateKey, createPublicKey, sign, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { canonicalJson } from "@zapvend/protocol";
import { FleetError, FleetErrorCode } from "./errors.js";

export class OperatorSigner {
  private constructor(
    readonly keyId: string,
    private readonly key: KeyObject,
  ) {}

  /** From a PKCS#8 PEM (what `npm start` writes) or a raw 32-byte seed as 64 hex digits. */
  static fromPem(keyId: string, pem: string): OperatorSigner {
    let key: KeyObject;
    try {
      const text = pem.trim();
      key = /^[0-9a-f]{64}$/.test(text)
        ? createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), Buffer.from(text, "hex")]), format: "der", type: "pkcs8" })
        : createPrivateKey(text);
    } catch (err) {
      throw new FleetError(FleetErrorCode.BAD_KEY, `the operator key is not a readable private key: ${(err as Error).message}`);
    }
    if (key.asymmetricKeyType !== "ed25519") throw new FleetError(FleetErrorCode.BAD_KEY, `the operator key must be Ed25519, not ${key.asymmetricKeyType}`);
    return new OperatorSigner(keyId, key);
  }

  static fromFile(keyId: string, file: string): OperatorSigner {
    let pem: string;
    try {
      pem = readFileSync(file, "utf8");
    } catch (err) {
      throw new FleetError(FleetErrorCode.BAD_KEY, `cannot read the operator key ${file}: ${(err as Error).message}`);
    }
    return OperatorSigner.fromPem(keyId, pem);
  }

  /** The public key as 64 hex digits (what a machine's `operatorKeys` lists). */
  publicKeyHex(): string {
    return createPublicKey(this.key).export({ format: "der", type: "spki" }).subarray(-32).toString("hex");
  }

  /** Ed25519 over `canonicalJson(payload)` (the payload without `sig`), base64url. */
  signature(payload: object): string {
    return sign(null, Buffer.from(canonicalJson(payload), "utf8"), this.key).toString("base64url");
  }

  /** The payload with `sig` added. */
  sign<T extends object>(payload: T): T & { sig: string } {
    return { ...payload, sig: this.signature(payload) };
  }

  toJSON(): string {
    return `[operator key ${this.keyId}]`;
  }
}
