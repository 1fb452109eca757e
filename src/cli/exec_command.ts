/**
 * `wgcage exec NAME -- CMD`: runs CMD in the live cage NAME, as the caller,
 * with its network, /etc files and PID namespace; exit status, signals and
 * the terminal as for a run. While CMD runs this holds a connection to the
 * cage's keeper (the count that `--rm-when-idle` ends the cage at).
 *
 * @module
 */

import { findLive, socketPath } from "../live/state.ts";
import { JoinedCommand } from "../live/join.ts";
import { type JoinGrant, requestJoin } from "../live/join_request.ts";
import { forwardSignals, type SignalName, signalNumber } from "../cage/signals.ts";
import { launcher, prepareLauncher } from "../launcher/library.ts";
import { takeEnvironmentVariable } from "../launcher/environ.ts";
import { assertCommandExists } from "./command_lookup.ts";
import { proxyWarning } from "./run_warnings.ts";
import { execNativeJoin } from "../live/native_join.ts";

/** A command the kernel killed: 128 + SIGKILL, as when its cage's init ends. */
const KILLED = 137;

/**
 * Whether the keeper closed the held connection within `ms`: it does before
 * it ends the cage, so a command killed by the cage's end finds it closed
 * (or closing).
 */
async function keeperHungUp(fd: number, ms: number): Promise<boolean> {
  const events = Int32Array.of(1);
  const n = await launcher().wgl_ctl_poll(Int32Array.of(fd), events, 1, -1, ms);
  return n > 0 && events[0] !== 0;
}

const ENDING = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * Ctrl-C, SIGTERM and SIGHUP until the command's signals are forwarded: kept,
 * so that one that comes while the command is being started (it may run
 * already) reaches it then, instead of ending wgcage without it.
 */
function holdEndingSignals(onSignal: () => void): { pending: SignalName[]; remove(): void } {
  const pending: SignalName[] = [];
  const removers = ENDING.map((name) => {
    const listener = () => {
      pending.push(name);
      onSignal();
    };
    Deno.addSignalListener(name, listener);
    return () => Deno.removeSignalListener(name, listener);
  });
  return { pending, remove: () => removers.splice(0).forEach((remove) => remove()) };
}

export async function execCommand(
  name: string,
  argv: string[],
  verbose = false,
): Promise<number> {
  const { dir } = findLive(name);
  assertCommandExists(argv[0]);
  // The native join does the rest in this process's place (it returns only
  // when this path is to do it): the checks above name the commonest
  // refusals, and a stale record is gone before it looks.
  const why = await execNativeJoin(Deno.args);
  if (verbose) console.error(`wgcage: exec on the Deno path: ${why}`);
  const proxies = proxyWarning(Deno.env.toObject());
  if (proxies !== undefined) console.error(proxies);
  await prepareLauncher();
  const ffi = launcher();
  // Ends the wait for the keeper when a signal comes.
  const wake = ffi.wgl_eventfd();
  const early = holdEndingSignals(() => ffi.wgl_eventfd_signal(wake));
  let stopForwarding = () => {};
  let grant: JoinGrant | undefined;
  try {
    const granted = await requestJoin(ffi, socketPath(dir, name), name, {
      wake,
      interrupted: () => early.pending.length > 0,
    });
    // Before the command runs, a signal stops wgcage as a run's does.
    if (granted === "interrupted" || early.pending.length > 0) {
      return 128 + signalNumber(early.pending[0]);
    }
    grant = granted;
    // `up --config-env VAR`: the config (keys included) may still be in this
    // job's environment; the command gets it no more than a run's does.
    if (grant.configEnv !== undefined) await takeEnvironmentVariable(grant.configEnv);
    let joined: JoinedCommand;
    try {
      joined = await JoinedCommand.start({ name, namespaceFds: grant.namespaceFds, argv });
    } finally {
      for (const fd of grant.namespaceFds.splice(0)) ffi.wgl_fd_close(fd);
    }
    stopForwarding = forwardSignals(joined);
    early.remove();
    for (const sig of early.pending.splice(0)) {
      try {
        joined.signal(sig);
      } catch {
        // it has ended already
      }
    }
    const status = await joined.wait();
    // Killed because 'wgcage down' ended the cage: say so, and pass the
    // status on (137, as 'podman exec' reports a container stopped under it).
    if (status === KILLED && await keeperHungUp(grant.fd, 500)) {
      console.error(
        `wgcage: the cage '${name}' was ended ('wgcage down', or its keeper stopped); ` +
          `the command was stopped (status ${status})`,
      );
    }
    return status;
  } finally {
    early.remove();
    stopForwarding();
    if (grant !== undefined) ffi.wgl_fd_close(grant.fd);
    ffi.wgl_fd_close(wake);
  }
}
