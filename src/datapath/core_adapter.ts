/**
 * The WireGuard core as the data path loop sees it.
 *
 * @module
 */

import type { DataPathCore } from "./loop.ts";
import type { Batch, WgDevice } from "../wg/device.ts";
import { Reason } from "../wg/abi_enums.ts";

const DESC_WORDS = 12;
const DESC_REASON = 4;

export class CoreAdapter implements DataPathCore<Batch> {
  readonly #device: WgDevice;
  constructor(device: WgDevice) {
    this.#device = device;
  }
  encrypt(batch: Batch, n: number, now: number, wall: number): void {
    batch.encrypt(now, wall, n);
  }
  decrypt(batch: Batch, n: number, now: number, wall: number): void {
    batch.decrypt(now, wall, n);
  }
  poll(batch: Batch, now: number, wall: number): number {
    return batch.poll(now, wall);
  }
  /** A staged packet or a consumed handshake/cookie means the core has something to send. */
  wantsPoll(batch: Batch, n: number): boolean {
    const desc = batch.descView();
    for (let i = 0; i < n; i++) {
      const reason = desc[i * DESC_WORDS + DESC_REASON];
      if (
        reason === Reason.Staged || reason === Reason.HandshakeConsumed ||
        reason === Reason.CookieConsumed
      ) return true;
    }
    return false;
  }
  nextDeadline(now: number): number {
    return this.#device.nextDeadline(now);
  }
}
