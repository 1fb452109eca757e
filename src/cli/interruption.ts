/**
 * Ctrl-C (or SIGTERM, SIGHUP) before the command runs: wgcage stops at once
 * and exits as a shell would report the signal (130, 143, 129), instead of
 * waiting for a handshake nobody wants any more.
 *
 * @module
 */

import { signalNumber } from "../cage/signals.ts";

const ENDING = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

export interface Interruption {
  /** Resolves with 128 + the signal's number when one of them arrives. */
  readonly status: Promise<number>;
  /** Stops listening; safe to call again. */
  remove(): void;
}

export function listenForInterruption(): Interruption {
  let resolve: (status: number) => void = () => {};
  const status = new Promise<number>((r) => resolve = r);
  const listeners = ENDING.map((name) => {
    const listener = () => resolve(128 + signalNumber(name));
    Deno.addSignalListener(name, listener);
    return () => Deno.removeSignalListener(name, listener);
  });
  return { status, remove: () => listeners.splice(0).forEach((remove) => remove()) };
}
