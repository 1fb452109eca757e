/**
 * Signal numbers (Linux) for the names Deno uses, and forwarding of the
 * signals wgcage receives to the cage.
 *
 * @module
 */

/** Linux signal numbers. */
export const SIGNALS = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGWINCH: 28,
} as const;

/** A signal name the cage understands. */
export type SignalName = keyof typeof SIGNALS;

/** The signals wgcage passes on to the command (the cage's init forwards them). */
export const FORWARDED_SIGNALS = [
  "SIGINT",
  "SIGTERM",
  "SIGHUP",
  "SIGQUIT",
  "SIGUSR1",
  "SIGUSR2",
  "SIGWINCH",
] as const satisfies readonly (SignalName & Deno.Signal)[];

/** The number of a signal given by name or number. */
export function signalNumber(sig: SignalName | number): number {
  if (typeof sig === "number") {
    if (!Number.isInteger(sig) || sig < 0 || sig > 64) {
      throw new RangeError(`Cannot send signal ${sig}: not a signal number`);
    }
    return sig;
  }
  const n = SIGNALS[sig];
  if (n === undefined) throw new RangeError(`Cannot send signal '${sig}': unknown signal`);
  return n;
}

/** Anything that signals can be sent to. */
export interface Signalable {
  signal(sig: SignalName | number): void;
}

/**
 * Passes SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH that
 * wgcage receives on to the cage. Returns the function that stops it.
 */
export function forwardSignals(cage: Signalable): () => void {
  const removers: (() => void)[] = [];
  for (const name of FORWARDED_SIGNALS) {
    const listener = () => {
      try {
        cage.signal(name);
      } catch {
        // The cage has ended; nothing to forward to.
      }
    };
    Deno.addSignalListener(name, listener);
    removers.push(() => Deno.removeSignalListener(name, listener));
  }
  return () => {
    for (const remove of removers.splice(0)) remove();
  };
}
