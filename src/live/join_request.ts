/**
 * `wgcage exec`'s side of the control socket: connects to the keeper (whose
 * uid and namespaces launcher/control.c checks, so that a socket put there by
 * a cage is refused), asks `wgcage-join=1` and receives the cage's
 * namespaces as fds. The connection then stays open while the command runs:
 * it is the hold `--rm-when-idle` counts. A pid read from the state record
 * is never used: any cage of the user could have written it.
 *
 * The wait is bounded ({@linkcode KEEPER_TIMEOUT_MS}, a one-line error) and
 * ends at once when `wake` is signalled (Ctrl-C, SIGTERM).
 *
 * @module
 */

import type { LauncherSymbols } from "../launcher/library.ts";
import { describeErrno, EAGAIN, ECONNRESET, EPERM, EPIPE } from "../launcher/errno.ts";
import { LiveError } from "./error.ts";
import { NAMESPACE_COUNT } from "./join.ts";
import { CONFIG_ENV_KEY, JOIN_OP } from "./uapi_handler.ts";

/** How long a keeper may take to answer before `exec` gives up. */
export const KEEPER_TIMEOUT_MS = 10_000;

const MAX_REPLY = 4096;
const RETRY_MS = 20;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What the keeper granted: the held connection and the cage's namespaces. */
export interface JoinGrant {
  /** The connection; closing it ends the hold. */
  readonly fd: number;
  /** user, mnt, net, uts, pid: the caller closes them once joined. */
  readonly namespaceFds: number[];
  /** The variable that held the cage's config (`up --config-env`). */
  readonly configEnv?: string;
}

export interface JoinRequestOptions {
  /** An eventfd; signalling it ends the wait (the result is then "interrupted"). */
  readonly wake: number;
  readonly interrupted: () => boolean;
  readonly timeoutMs?: number;
}

/** The keeper closes at once on a client outside its network namespace. */
function closedAtOnce(name: string): LiveError {
  return new LiveError(
    `The cage '${name}' refused the command: its control socket serves only its keeper's ` +
      `network namespace; run 'wgcage exec' where 'wgcage up ${name}' ran`,
  );
}

function closeAll(ffi: LauncherSymbols, fds: number[]): void {
  for (const fd of fds.splice(0)) ffi.wgl_fd_close(fd);
}

export async function requestJoin(
  ffi: LauncherSymbols,
  path: string,
  name: string,
  o: JoinRequestOptions,
): Promise<JoinGrant | "interrupted"> {
  const timeoutMs = o.timeoutMs ?? KEEPER_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const stuck = () =>
    new LiveError(
      `The cage '${name}' did not answer within ${timeoutMs / 1000} s; its keeper may be ` +
        `stuck; see 'wgcage ls', or end it with 'wgcage down ${name}'`,
    );
  const pathBytes = new TextEncoder().encode(`${path}\0`);
  let fd = -1;
  for (;;) {
    if (o.interrupted()) return "interrupted";
    fd = ffi.wgl_ctl_connect(pathBytes);
    if (fd >= 0) break;
    if (fd === -EPERM) {
      throw new LiveError(
        `The control socket of the cage '${name}' (${path}) is served from another network ` +
          `namespace or user than this wgcage's; run 'wgcage exec' where 'wgcage up ${name}' ` +
          `ran (if it did, the socket is not its keeper's: end the cage with 'wgcage down ${name}')`,
      );
    }
    if (fd !== -EAGAIN) {
      throw new LiveError(
        `Cannot reach the cage '${name}': ${describeErrno(-fd)}; it may have just ended; ` +
          "see 'wgcage ls'",
      );
    }
    // Its backlog is full: the keeper does not accept.
    if (Date.now() >= deadline) throw stuck();
    await ffi.wgl_ctl_poll(new Int32Array(0), new Int32Array(0), 0, o.wake, RETRY_MS);
  }
  const fds: number[] = [];
  let ok = false;
  try {
    const request = new TextEncoder().encode(`${JOIN_OP}\n\n`);
    // A fresh socket's buffer takes these few bytes whole; a keeper that
    // refused the connection may have closed it already.
    const sent = ffi.wgl_ctl_send(fd, request, request.length);
    if (sent === -EPIPE || sent === -ECONNRESET) throw closedAtOnce(name);
    if (sent !== request.length) {
      throw new LiveError(`The cage '${name}' closed its control socket; see 'wgcage ls'`);
    }
    const decoder = new TextDecoder();
    const buf = new Uint8Array(MAX_REPLY);
    const got = new Int32Array(NAMESPACE_COUNT + 1);
    const count = new Int32Array(1);
    let reply = "";
    while (!reply.endsWith("\n\n")) {
      if (o.interrupted()) return "interrupted";
      const left = deadline - Date.now();
      if (left <= 0) throw stuck();
      const events = Int32Array.of(1);
      await ffi.wgl_ctl_poll(Int32Array.of(fd), events, 1, o.wake, left);
      if (events[0] === 0) continue;
      const n = ffi.wgl_ctl_recv_fds(fd, buf, buf.length, got, got.length, count);
      if (n === -EAGAIN) continue;
      if ((n === 0 || n === -ECONNRESET) && reply === "") throw closedAtOnce(name);
      if (n <= 0 || reply.length + n > MAX_REPLY) {
        throw new LiveError(
          `The cage '${name}' refused the command${
            n < 0 ? ` (${describeErrno(-n)})` : ""
          }; see 'wgcage ls'`,
        );
      }
      fds.push(...got.subarray(0, count[0]));
      reply += decoder.decode(buf.subarray(0, n), { stream: true });
    }
    const lines = reply.slice(0, -2).split("\n");
    if (lines.at(-1) !== "errno=0" || fds.length !== NAMESPACE_COUNT) {
      throw new LiveError(`The cage '${name}' refused the command; see 'wgcage ls'`);
    }
    let configEnv: string | undefined;
    for (const line of lines.slice(0, -1)) {
      const at = line.indexOf("=");
      const value = line.slice(at + 1);
      if (line.slice(0, at) !== CONFIG_ENV_KEY || !ENV_NAME.test(value)) {
        throw new LiveError(
          `The cage '${name}' sent a reply this wgcage does not know; see 'wgcage ls'`,
        );
      }
      configEnv = value;
    }
    ok = true;
    return { fd, namespaceFds: fds, configEnv };
  } finally {
    if (!ok) {
      closeAll(ffi, fds);
      ffi.wgl_fd_close(fd);
    }
  }
}
