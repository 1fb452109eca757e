/**
 * `wgcage down NAME`: ends a live cage: SIGTERM to its keeper, which ends
 * everything in the cage and removes its state; SIGKILL after 5 s.
 *
 * @module
 */

import { findLive, isAlive, removeState } from "../live/state.ts";

const GRACE_MS = 5000;

export async function downCommand(name: string): Promise<number> {
  const { dir, record } = findLive(name);
  try {
    Deno.kill(record.pid, "SIGTERM");
  } catch {
    // gone meanwhile
  }
  const deadline = Date.now() + GRACE_MS;
  while (isAlive(record) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  if (isAlive(record)) {
    try {
      Deno.kill(record.pid, "SIGKILL");
    } catch {
      // gone
    }
    while (isAlive(record)) await new Promise((r) => setTimeout(r, 10));
  }
  removeState(dir, name, record);
  return 0;
}
