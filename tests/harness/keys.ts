/**
 * WireGuard keys for test peers, made by wireguard-tools (`wg genkey`,
 * `wg pubkey`, `wg genpsk`) so that the harness shares no code with the
 * implementation under test.
 *
 * @module
 */

import { run } from "./process.ts";

/** A key pair as base64 strings. The private half never prints. */
export class KeyPair {
  readonly publicKey: string;
  readonly #privateKey: string;

  constructor(privateKey: string, publicKey: string) {
    this.#privateKey = privateKey;
    this.publicKey = publicKey;
  }

  /** The private key, base64. Keep it out of logs. */
  get privateKey(): string {
    return this.#privateKey;
  }

  toString(): string {
    return `KeyPair(public ${this.publicKey}, private <redacted>)`;
  }

  toJSON(): { publicKey: string } {
    return { publicKey: this.publicKey };
  }

  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
}

/** A fresh key pair from `wg genkey` / `wg pubkey`. */
export async function generateKeyPair(): Promise<KeyPair> {
  const privateKey = (await run(["wg", "genkey"])).stdout.trim();
  const publicKey = await publicKeyOf(privateKey);
  return new KeyPair(privateKey, publicKey);
}

/** The public key of a base64 private key (`wg pubkey`). */
export async function publicKeyOf(privateKey: string): Promise<string> {
  return (await run(["wg", "pubkey"], { stdin: privateKey + "\n" })).stdout.trim();
}

/** A fresh preshared key from `wg genpsk`, base64. */
export async function generatePresharedKey(): Promise<string> {
  return (await run(["wg", "genpsk"])).stdout.trim();
}
