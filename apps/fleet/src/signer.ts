// The operator's Ed25519 key signs every command and desired state. It is read once from the file the config
// names and stays in this process: nothing here ever serialises it. Reading and signing are the bridge's
// (`privateKeyFrom`, `signPayload`), the very functions whose output the machines verify.
import { readFileSync } from "node:fs";
import type { KeyObject } from "node:crypto";
import { BridgeError, privateKeyFrom, publicKeyHex, signPayload } from "@zapvend/mqtt-bridge";
import { FleetError, FleetErrorCode } from "./errors.js";

export class OperatorSigner {
  private constructor(
    readonly keyId: string,
    private readonly key: KeyObject,
  ) {}

  /** From a PKCS#8 PEM (what `npm start` writes) or a raw 32-byte seed as 64 hex digits. */
  static fromPem(keyId: string, pem: string): OperatorSigner {
    try {
      return new OperatorSigner(keyId, privateKeyFrom(pem));
    } catch (err) {
      if (err instanceof BridgeError) throw new FleetError(FleetErrorCode.BAD_KEY, `the operator key: ${err.message}`);
      throw err;
    }
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

  /** What the bridge's `FleetLink` signs with (`operatorKey` option). The key object stays in this process. */
  operatorKey(): { keyId: string; privateKey: KeyObject } {
    return { keyId: this.keyId, privateKey: this.key };
  }

  /** The public key as 64 hex digits (what a machine's `operatorKeys` lists). */
  publicKeyHex(): string {
    return publicKeyHex(this.key);
  }

  /** The payload with `sig` added: Ed25519 over `canonicalJson(payload)`, base64url. */
  sign<T extends object>(payload: T): T & { sig: string } {
    return signPayload(payload, this.key);
  }

  toJSON(): string {
    return `[operator key ${this.keyId}]`;
  }
}
