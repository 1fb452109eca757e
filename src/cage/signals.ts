/**
 * Signal numbers (Linux) for the names Deno uses, and forwarding of the
 * signals wgcage receives to the cage.
 *
 * SIGUSR1 is special: `deno run` answers it with a debugger on
 * 127.0.0.1:9229, so {@linkcode claimSigusr1} takes it from the runtime for
 * good, first thing, and the launcher forwards it to the cage natively
 * (launcher/sigusr1.c).
 *
 * @module
 */

import { launcher, type LauncherSymbols, prepareLauncher } from "../launcher/library.ts";
import { CageError, EXIT_REFUSED } from "./error.ts";
import { ESRCH } from "../launcher/errno.ts";

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

/** What launcher/sigusr1.c says of the process's SIGUSR1 action (enum wgl_sigusr1_state). */
const Sigusr1State = {
  /** SIG_DFL or SIG_IGN: nobody registered it yet. */
  Free: 0,
  /** Another handler: the runtime's, registered before wgcage could claim it. */
  Other: 1,
  Ours: 2,
} as const;

function noSigusr1(): void {}

/**
 * Makes the launcher's handler the process's SIGUSR1 action for good.
 * Synchronous, so the runtime's event loop (where its 500 ms registration
 * runs) cannot run in between. Returns true when the runtime had registered
 * SIGUSR1 before: then a SIGUSR1 may have opened its debugger already.
 */
function takeSigusr1(ffi: LauncherSymbols): boolean {
  const before = ffi.wgl_sigusr1_state();
  if (before === Sigusr1State.Ours) return false;
  // The runtime's registry installs its handler with sigaction only when a
  // signal is first registered: register SIGUSR1 now, so that the claim
  // below is the last sigaction of SIGUSR1 in this process, whenever the
  // runtime's own registration comes. The listener stays: a SIGUSR1 that the
  // runtime's handler took just before the claim is still dispatched after
  // it, and with no listener the runtime would apply the default action,
  // which resets SIGUSR1 and ends the process.
  Deno.addSignalListener("SIGUSR1", noSigusr1);
  const rc = ffi.wgl_sigusr1_claim();
  if (rc < 0) throw new CageError(`wgcage: Cannot take over SIGUSR1: errno ${-rc}`, EXIT_REFUSED);
  return before === Sigusr1State.Other;
}

/**
 * How long a SIGUSR1 that the runtime's handler took just before the claim
 * may still take to open the debugger (its thread wakes a task of the event
 * loop); microseconds unless the machine is very busy.
 */
const LATE_SIGUSR1_SETTLE_MS = 100;

/**
 * Takes SIGUSR1 from the JavaScript runtime for the rest of the process, so
 * that no SIGUSR1 can make wgcage listen on a socket: `deno run` (Deno ≥
 * 2.9.2) opens an unauthenticated debugger on 127.0.0.1:9229 for it, where
 * any local user could run code inside wgcage (as root under sudo). From
 * here on a SIGUSR1 goes to the command once it runs
 * ({@linkcode forwardSignals}) and is dropped before.
 *
 * `main` calls this first. The runtime registers SIGUSR1 only 500 ms after
 * start, and after this call its registration no longer changes the action
 * (launcher/sigusr1.c). Should start-up have taken longer than that, a
 * SIGUSR1 that came before this call may have opened the debugger: then this
 * closes it and throws {@linkcode CageError} (exit 125) rather than go on.
 * Also throws it when the launcher cannot be loaded.
 */
export async function claimSigusr1(): Promise<void> {
  // NODE_OPTIONS=--inspect has `deno run` open a debugger before any of
  // wgcage runs; close it and refuse. (--inspect-brk and --inspect-wait make
  // it wait for a debugger before this line can run: SECURITY.md says so.)
  if (/--inspect/.test(Deno.env.get("NODE_OPTIONS") ?? "")) {
    (await import("node:inspector")).close();
    throw new CageError(
      "wgcage: Refusing to run with a debugger open (NODE_OPTIONS asks for --inspect): any " +
        "local user could run code inside wgcage; unset NODE_OPTIONS",
      EXIT_REFUSED,
    );
  }
  await prepareLauncher();
  if (!takeSigusr1(launcher())) return;
  const inspector = await import("node:inspector");
  await new Promise((resolve) => setTimeout(resolve, LATE_SIGUSR1_SETTLE_MS));
  if (inspector.url() === undefined) return;
  inspector.close();
  throw new CageError(
    "wgcage: Stopped: a SIGUSR1 opened a debugger before wgcage could refuse it (start-up took " +
      "over 500 ms); it is closed again; run wgcage again",
    EXIT_REFUSED,
  );
}

/** Anything that signals can be sent to. */
export interface Signalable {
  /** The process that SIGUSR1 is forwarded to (by the launcher, not by `signal`). */
  readonly pid: number;
  signal(sig: SignalName | number): void;
}

/** The cage that the launcher forwards SIGUSR1 to now. */
let sigusr1Target: Signalable | undefined;

/**
 * Passes SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH that
 * wgcage receives on to the cage. SIGUSR1 goes from the launcher's handler
 * straight to `cage.pid` (taking it from the runtime first, if
 * {@linkcode claimSigusr1} did not); the others through `cage.signal`. One
 * cage at a time gets SIGUSR1: the last one given. Needs the launcher loaded
 * (a cage was opened). Returns the function that stops it.
 */
export function forwardSignals(cage: Signalable): () => void {
  const ffi = launcher();
  takeSigusr1(ffi);
  const armed = ffi.wgl_sigusr1_forward(cage.pid);
  // -ESRCH: the init was reaped already, so there is nothing to forward to.
  if (armed < 0 && armed !== -ESRCH) {
    throw new Error(`Cannot forward SIGUSR1 to the cage: errno ${-armed}`);
  }
  sigusr1Target = cage;
  const removers: (() => void)[] = [() => {
    if (sigusr1Target !== cage) return;
    sigusr1Target = undefined;
    ffi.wgl_sigusr1_forward(0);
  }];
  for (const name of FORWARDED_SIGNALS) {
    if (name === "SIGUSR1") continue;
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
