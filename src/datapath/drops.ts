/**
 * Dropped packets, counted by the reason the core gave: after the core seals
 * or opens a batch, every descriptor carries a `Reason`; those that are not
 * a packet going on (Ok) or one the core consumed on purpose (a handshake
 * message, a cookie reply, a keepalive, a packet staged until a session
 * exists) are drops. One pass over the batch's descriptors, no allocation.
 *
 * @example
 * ```ts
 * import { DropCounts } from "./drops.ts";
 * import { DESC_REASON, DESC_WORDS, Reason } from "../wg/abi.ts";
 *
 * const desc = new Uint32Array(3 * DESC_WORDS);
 * desc[0 * DESC_WORDS + DESC_REASON] = Reason.Ok;
 * desc[1 * DESC_WORDS + DESC_REASON] = Reason.Replay;
 * desc[2 * DESC_WORDS + DESC_REASON] = Reason.Replay;
 * const drops = new DropCounts();
 * drops.count(desc, 3);
 * console.assert(JSON.stringify(drops.byReason()) === '{"replay":2}');
 * ```
 *
 * @module
 */

import { DESC_REASON, DESC_WORDS, Reason } from "../wg/abi.ts";

/** Reasons that are not drops: the packet goes on, or the core consumed it on purpose. */
const NOT_DROPS: ReadonlySet<number> = new Set([
  Reason.Ok,
  Reason.Staged,
  Reason.Keepalive,
  Reason.HandshakeConsumed,
  Reason.CookieConsumed,
]);

/** The name `show` prints for each reason: `Reason`'s own, in snake case. */
export const REASON_NAMES: readonly string[] = (() => {
  const names: string[] = [];
  for (const [name, value] of Object.entries(Reason)) {
    names[value] = name.replace(/[A-Z]/g, (c, i) => (i === 0 ? "" : "_") + c.toLowerCase());
  }
  return names;
})();

export class DropCounts {
  /** Per reason value; the last slot counts values the core added later than this table. */
  readonly #counts = new Float64Array(REASON_NAMES.length + 1);

  /** Counts the drops among the first `n` descriptors of a batch the core just processed. */
  count(desc: Uint32Array, n: number): void {
    const other = REASON_NAMES.length;
    for (let i = 0, d = DESC_REASON; i < n; i++, d += DESC_WORDS) {
      const r = desc[d];
      if (r === Reason.Ok) continue;
      if (NOT_DROPS.has(r)) continue;
      this.#counts[r < other ? r : other]++;
    }
  }

  /** The non-zero counts by reason name (`unknown` for a reason this table lacks). */
  byReason(): Record<string, number> {
    const out: Record<string, number> = {};
    this.#counts.forEach((c, r) => {
      if (c > 0) out[REASON_NAMES[r] ?? "unknown"] = c;
    });
    return out;
  }
}
