/**
 * The WireGuard core as the data path loop sees it.
 *
 * @module
 */

import type { DataPathCore } from "./loop.ts";
import type { Batch, WgDevice } from "../wg/device.ts";

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
  nextDeadline(now: number): number {
    return this.#device.nextDeadline(now);
  }
}
