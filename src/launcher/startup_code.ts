/**
 * Gives back the pages of the Deno runtime's code that wgcage's start-up
 * used, once the command runs (launcher/startup_code.c says why that is
 * safe): they are most of wgcage's resident memory, and the data path needs
 * few of them again.
 *
 * @module
 */

import { launcher } from "./library.ts";

/**
 * Unmaps the runtime's resident code pages from this process; returns the
 * KiB that were resident, or undefined when the kernel refused (nothing is
 * lost then but the memory). The launcher must be prepared (`prepareLauncher`).
 */
export function releaseStartupCode(): number | undefined {
  const kib = launcher().wgl_release_startup_code();
  return kib >= 0 ? kib : undefined;
}
