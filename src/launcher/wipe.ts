/**
 * Zeroing a large buffer through the launcher, skipping the pages that were
 * never written (launcher/wipe.c): how the tunnel wipes the WireGuard core's
 * memory at exit without paying for the MiBs of packet slots it never used.
 *
 * @module
 */

import { launcher } from "./library.ts";

/** Zeroes `buf`: its resident pages through mincore(2), or all of it if that fails. */
export function wipeResidentPages(buf: Uint8Array): void {
  const wiped = launcher().wgl_wipe_resident(buf as Uint8Array<ArrayBuffer>, BigInt(buf.length));
  if (wiped < 0) buf.fill(0);
}
