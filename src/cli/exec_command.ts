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
import { HOLD_OP } from "../live/uapi_handler.ts";
import { LiveError } from "../live/error.ts";
import { forwardSignals, type SignalName, signalNumber } from "../cage/signals.ts";
import { prepareLauncher } from "../launcher/library.ts";
import { assertCommandExists } from "./command_lookup.ts";
import { proxyWarning } from "./run_warnings.ts";

async function hold(path: string, name: string): Promise<Deno.UnixConn> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (e) {
    throw new LiveError(
      `Cannot reach the cage '${name}': ${
        (e as Error).message
      }; it may have just ended; see 'wgcage ls'`,
    );
  }
  await conn.write(new TextEncoder().encode(`${HOLD_OP}\n\n`));
  const buf = new Uint8Array(64);
  let reply = "";
  while (!reply.endsWith("\n\n")) {
    const n = await conn.read(buf);
    if (n === null) break;
    reply += new TextDecoder().decode(buf.subarray(0, n));
  }
  if (reply !== "errno=0\n\n") {
    conn.close();
    throw new LiveError(`The cage '${name}' refused the command; see 'wgcage ls'`);
  }
  return conn;
}

/** A command the kernel killed: 128 + SIGKILL, as when its cage's init ends. */
const KILLED = 137;

/**
 * Watches the held connection: the keeper closes it before it ends the cage,
 * so a command killed by the cage's end finds it closed (or closing).
 */
function keeperHangsUp(conn: Deno.UnixConn): { within(ms: number): Promise<boolean> } {
  const closed = conn.read(new Uint8Array(64)).then(() => true, () => true);
  return {
    within: async (ms) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<boolean>((r) => timer = setTimeout(() => r(false), ms));
      try {
        return await Promise.race([closed, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

const ENDING = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * Ctrl-C, SIGTERM and SIGHUP until the command's signals are forwarded: kept,
 * so that one that comes while the command is being started (it may run
 * already) reaches it then, instead of ending wgcage without it.
 */
function holdEndingSignals(): { pending: SignalName[]; remove(): void } {
  const pending: SignalName[] = [];
  const removers = ENDING.map((name) => {
    const listener = () => void pending.push(name);
    Deno.addSignalListener(name, listener);
    return () => Deno.removeSignalListener(name, listener);
  });
  return { pending, remove: () => removers.splice(0).forEach((remove) => remove()) };
}

export async function execCommand(name: string, argv: string[]): Promise<number> {
  const { dir, record } = findLive(name);
  assertCommandExists(argv[0]);
  const proxies = proxyWarning(Deno.env.toObject());
  if (proxies !== undefined) console.error(proxies);
  const early = holdEndingSignals();
  let stopForwarding = () => {};
  let conn: Deno.UnixConn | undefined;
  try {
    await prepareLauncher();
    conn = await hold(socketPath(dir, name), name);
    const cageEnded = keeperHangsUp(conn);
    // Before the command runs, a signal stops wgcage as a run's does.
    if (early.pending.length > 0) return 128 + signalNumber(early.pending[0]);
    const joined = await JoinedCommand.start({ name, initPid: record.initPid, argv });
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
    if (status === KILLED && await cageEnded.within(500)) {
      console.error(
        `wgcage: the cage '${name}' was ended ('wgcage down', or its keeper stopped); ` +
          `the command was stopped (status ${status})`,
      );
    }
    return status;
  } finally {
    early.remove();
    stopForwarding();
    conn?.close();
  }
}
