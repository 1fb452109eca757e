/**
 * Peer public keys that parse but can never make a session: all zeros, our
 * own public key, or another low-order point (whose Diffie-Hellman result is
 * all zeros, which WireGuard refuses). The core refuses them when the peer is
 * added; checking them with the config names the line and the fix instead.
 *
 * @module
 */

import type { ConfigDraft } from "./draft.ts";
import { fail, type Site } from "./values.ts";
import { sameKey } from "./key.ts";
import { Key } from "./types.ts";
import { compileCore } from "../wg/wasm.ts";
import { CorePrimitives } from "../wg/primitives.ts";

/** The X25519 the checks need. */
export interface KeyMath {
  /** The public key of a private key. */
  publicKey(privateKey: Uint8Array): Uint8Array;
  /** True when X25519(privateKey, publicKey) is all zeros: a low-order point. */
  sharedSecretIsZero(privateKey: Uint8Array, publicKey: Uint8Array): boolean;
}

let coreMath: Promise<KeyMath> | undefined;

/** {@linkcode KeyMath} from an instance of the WireGuard core, made once. */
export function coreKeyMath(): Promise<KeyMath> {
  coreMath ??= compileCore().then(async (module) => {
    const core = new CorePrimitives(await WebAssembly.instantiate(module, {}));
    return {
      publicKey: (privateKey) => core.x25519Base(privateKey),
      sharedSecretIsZero(privateKey, publicKey) {
        const { shared, isZero } = core.x25519(privateKey, publicKey);
        shared.fill(0);
        return isZero;
      },
    };
  });
  return coreMath;
}

const FIX = "use the peer's public key (run 'wg pubkey' on the peer)";

/**
 * Throws a {@linkcode ConfigError} naming the line or flag of the first peer
 * key that cannot work. Call it on a draft that `finalizeConfig` accepted.
 */
export function checkPeerKeys(draft: ConfigDraft, math: KeyMath): void {
  const iface = draft.iface;
  if (iface?.privateKey === undefined) return;
  const ours = new Key(math.publicKey(iface.privateKey.bytes), false);
  for (const peer of draft.peers) {
    if (peer.publicKey === undefined) continue;
    const site: Site = peer.publicKeySite ?? { at: peer.at, name: "PublicKey" };
    const bytes = peer.publicKey.bytes;
    if (bytes.every((byte) => byte === 0)) {
      fail(site, `${site.name} is all zeros, not a key; ${FIX}`);
    }
    if (sameKey(peer.publicKey, ours)) {
      fail(
        site,
        `${site.name} is our own public key (that of ${
          describe(iface.privateKeySite)
        }), not the peer's; ${FIX}`,
      );
    }
    if (math.sharedSecretIsZero(iface.privateKey.bytes, bytes)) {
      fail(
        site,
        `${site.name} is a low-order point, not a usable public key (no shared secret comes of it); ${FIX}`,
      );
    }
  }
}

function describe(site: Site | undefined): string {
  if (site === undefined) return "the private key";
  return site.at === "" ? site.name : `${site.name} at ${site.at.replace(/: $/, "")}`;
}
