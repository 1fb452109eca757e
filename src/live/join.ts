/**
 * A command in a live cage: the launcher clones a single-threaded child that
 * joins the cage's namespaces (fds its keeper sent) and starts the init in
 * join mode as PID 1 of a PID namespace of its own inside the cage's
 * (launcher/join.c), which runs the command as the caller, with the
 * confinement, signals, exit status and terminal handling of a new cage's
 * command; whatever the command leaves behind ends with it.
 *
 * @module
 */

import { initProgramFd, launcher, type LauncherSymbols } from "../launcher/library.ts";
import { CageError, EXIT_REFUSED } from "../cage/error.ts";
import { cageFailure } from "../cage/failure.ts";
import { type SignalName, signalNumber } from "../cage/signals.ts";
import { cageMode, Stage } from "../cage/stage.ts";
import { describeErrno } from "../launcher/errno.ts";
import { DEFAULT_PATH } from "../cage/request.ts";

const REQUEST_VERSION = 2;
const REQUEST_HEADER = 40;
/** The namespaces of a cage, in the order the request and the keeper have them. */
export const NAMESPACE_COUNT = 5;
/** launcher/join.h's stages. */
const STAGE_JOIN_OPEN = 40;
const STAGE_JOIN_SETNS = 41;
const STAGE_JOIN_PROC = 42;
const OUT = { Pid: 0, Sync: 1, Stage: 2, Errno: 3, Mode: 4, Tty: 5, Count: 6 } as const;

export interface JoinSpec {
  /** The cage's name, for messages. */
  readonly name: string;
  /** The cage's user, mnt, net, uts and pid namespaces, from its keeper (the caller closes them). */
  readonly namespaceFds: readonly number[];
  readonly argv: readonly string[];
  readonly cwd?: string;
  readonly path?: string;
}

function encodeJoinRequest(spec: JoinSpec, initFd: number): Uint8Array<ArrayBuffer> {
  if (spec.argv.length === 0 || spec.argv[0] === "") {
    throw new RangeError("Cannot join the cage: the command is empty");
  }
  const strings = [
    spec.cwd ?? Deno.cwd(),
    spec.path ?? Deno.env.get("PATH") ?? DEFAULT_PATH,
    ...spec.argv,
  ];
  for (const s of strings) {
    if (s.includes("\0")) throw new TypeError("Cannot join the cage: an argument has a NUL byte");
  }
  const encoder = new TextEncoder();
  const encoded = strings.map((s) => encoder.encode(s));
  const out = new Uint8Array(REQUEST_HEADER + encoded.reduce((n, b) => n + b.length + 1, 0));
  const header = new DataView(out.buffer);
  header.setUint32(0, REQUEST_VERSION, true);
  header.setUint32(4, 0, true);
  header.setUint32(8, spec.argv.length, true);
  header.setUint32(12, initFd, true);
  if (spec.namespaceFds.length !== NAMESPACE_COUNT) {
    throw new RangeError(`Cannot join the cage: ${spec.namespaceFds.length} namespaces`);
  }
  spec.namespaceFds.forEach((fd, i) => header.setUint32(16 + 4 * i, fd, true));
  header.setUint32(36, 0, true);
  let pos = REQUEST_HEADER;
  for (const b of encoded) {
    out.set(b, pos);
    pos += b.length + 1;
  }
  return out;
}

/** A command running in a live cage. */
export class JoinedCommand {
  /** The joined init (it forwards signals to the command). */
  readonly pid: number;
  readonly #ffi: LauncherSymbols;
  readonly #ttyFd: number;
  readonly #spec: JoinSpec;
  readonly #mode: number;
  #status: Promise<number> | undefined;
  #reaped = false;
  #stopResuming: () => void = () => {};

  private constructor(ffi: LauncherSymbols, out: Int32Array, pid: number, spec: JoinSpec) {
    this.#ffi = ffi;
    this.pid = pid;
    this.#ttyFd = out[OUT.Tty];
    this.#mode = out[OUT.Mode];
    this.#spec = spec;
  }

  /**
   * Starts the command in the cage; resolves once it was exec'd. Throws
   * {@linkcode CageError}: 125 when the cage cannot be joined, 126/127 when
   * the command cannot run.
   */
  static async start(spec: JoinSpec): Promise<JoinedCommand> {
    const ffi = launcher();
    const request = encodeJoinRequest(spec, initProgramFd());
    const out = new Int32Array(OUT.Count);
    const rc = ffi.wgl_join_open(request, request.length, out);
    if (rc < 0) throw joinFailure(spec, out[OUT.Stage], out[OUT.Errno], out[OUT.Mode]);
    // The init's pid, the failure's stage and errno.
    const result = new Int32Array(3);
    const exec = await ffi.wgl_join_await(out[OUT.Sync], out[OUT.Pid], result);
    ffi.wgl_fd_close(out[OUT.Sync]);
    if (exec < 0 || result[0] <= 0) {
      if (out[OUT.Tty] >= 0) ffi.wgl_tty_reclaim(out[OUT.Tty]);
      if (exec === 1) throw joinFailure(spec, result[1], result[2], out[OUT.Mode]);
      throw new CageError(
        `wgcage: Cannot run a command in the cage '${spec.name}': the join broke (${
          describeErrno(-exec)
        }); see 'wgcage ls' and run it again`,
        EXIT_REFUSED,
      );
    }
    const joined = new JoinedCommand(ffi, out, result[0], spec);
    if (exec !== 0) {
      await joined.wait();
      throw joinFailure(spec, result[1], result[2], joined.#mode);
    }
    if (joined.#ttyFd >= 0) {
      const resume = () => {
        if (!joined.#reaped) ffi.wgl_cage_resume(joined.pid, joined.#ttyFd);
      };
      Deno.addSignalListener("SIGCONT", resume);
      joined.#stopResuming = () => Deno.removeSignalListener("SIGCONT", resume);
    }
    return joined;
  }

  /** The command's exit status as a shell reports it. */
  wait(): Promise<number> {
    this.#status ??= this.#ffi.wgl_cage_wait(this.pid).then((status) => {
      this.#reaped = true;
      this.#stopResuming();
      if (this.#ttyFd >= 0) this.#ffi.wgl_tty_reclaim(this.#ttyFd);
      if (status < 0) throw new Error(`Cannot wait for the command: errno ${-status}`);
      return status;
    });
    return this.#status;
  }

  signal(sig: SignalName | number): void {
    if (this.#reaped) throw new Error("Cannot signal the command: it has ended");
    const rc = this.#ffi.wgl_cage_signal(this.pid, signalNumber(sig));
    if (rc < 0) throw new Error(`Cannot signal the command: errno ${-rc}`);
  }
}

function joinFailure(spec: JoinSpec, stage: number, errno: number, mode: number): CageError {
  if (stage === STAGE_JOIN_OPEN || stage === STAGE_JOIN_SETNS) {
    return new CageError(
      `wgcage: Cannot join the cage '${spec.name}': ${describeErrno(errno)} ` +
        `(${stage === STAGE_JOIN_OPEN ? "checking" : "entering"} its namespaces); ` +
        "only the user who started it can join it; check 'wgcage ls'",
      EXIT_REFUSED,
      { stage, errno },
    );
  }
  if (stage === STAGE_JOIN_PROC) {
    return new CageError(
      `wgcage: Cannot join the cage '${spec.name}': ${describeErrno(errno)} ` +
        "(mounting the command's /proc in the cage); check 'wgcage ls' and the kernel's log",
      EXIT_REFUSED,
      { stage, errno },
    );
  }
  return cageFailure(stage === 0 ? Stage.Sync : stage, errno, {
    command: spec.argv[0],
    tunName: "",
    mode: cageMode(mode),
    userns: true,
  });
}
