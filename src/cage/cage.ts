/**
 * The cage: a command in its own user (when not root), network, mount, UTS
 * and PID namespaces, whose only network is a TUN device wgcage holds.
 *
 * Life of a cage: {@linkcode Cage.open} clones the child, which creates the
 * TUN and a netlink socket in the new network namespace and hands both back,
 * then covers the hidden host paths, lays the generated files over /etc,
 * mounts /proc and execs the cage's minimal init, which waits. The caller
 * configures the links over {@linkcode Cage.netlink}, then
 * {@linkcode Cage.start} gives the go-ahead: the init runs the command.
 * {@linkcode Cage.wait} gives the exit status; {@linkcode Cage.close} leaves
 * nothing behind.
 *
 * @example
 * ```ts ignore
 * const cage = await Cage.open({
 *   argv: ["ip", "-o", "link"],
 *   tunName: "wg0",
 *   mapRoot: false,
 *   etcFiles: { resolvConf: "nameserver 10.0.0.1\n", hosts: "127.0.0.1 localhost\n", nsswitchConf: "hosts: files dns\n" },
 * });
 * try {
 *   configureLinks(cage.netlink(), plan);
 *   await cage.start();
 *   console.log(await cage.wait());
 * } finally {
 *   await cage.close();
 * }
 * ```
 *
 * @module
 */

import type { NetlinkTransport } from "../netlink/transport.ts";
import {
  initProgramFd,
  launcher,
  type LauncherSymbols,
  prepareLauncher,
} from "../launcher/library.ts";
import type { EtcFiles } from "./etc_files.ts";
import { cageFailure, type FailureContext } from "./failure.ts";
import { NETLINK_RECV_TIMEOUT_MS, NetlinkFd } from "./netlink_fd.ts";
import { DEFAULT_PATH, encodeRequest } from "./request.ts";
import { type SignalName, signalNumber } from "./signals.ts";
import { type CageMode, cageMode, OutWord, Stage } from "./stage.ts";

/** What to run and how the cage looks. */
export interface CageSpec {
  /** The command and its arguments, run as a vector (no shell). */
  readonly argv: readonly string[];
  /** Name of the TUN device in the cage, e.g. `wg0`. */
  readonly tunName: string;
  /** Run the command as uid/gid 0 of the cage instead of the caller. */
  readonly mapRoot: boolean;
  /** Contents of the files laid over /etc. */
  readonly etcFiles: EtcFiles;
  /** The cage's hostname; the host's when absent. */
  readonly hostname?: string;
  /** The PATH the command is looked up in; the environment's when absent. */
  readonly path?: string;
  /** Absolute host paths (daemon sockets) covered with /dev/null in the cage. */
  readonly hidePaths?: readonly string[];
  /**
   * As root, give the cage no user namespace of its own: no boundary, the
   * command keeps root's capabilities over the host. For hosts that refuse
   * user namespaces even to root.
   */
  readonly noUserns?: boolean;
  /** A live cage (`wgcage up`): the init runs no command and holds the namespaces. */
  readonly hold?: boolean;
  /**
   * Start a socket service in the cage, which makes sockets in its network
   * namespace for wgcage (published ports, host services): see
   * {@linkcode Cage.serviceFd}.
   */
  readonly socketService?: boolean;
}

/** A running (or finished) cage. */
export class Cage {
  /** The cage's init, as seen from the host. */
  readonly pid: number;
  /** The TUN device, non-blocking. */
  readonly tunFd: number;
  /** An rtnetlink socket inside the cage's network namespace. */
  readonly netlinkFd: number;
  /** The TUN's interface index in the cage (the child looked it up). */
  readonly tunIndex: number;
  /** `userns` (rootless), `root`, or `sudo` (root, running the command as the sudo user). */
  readonly mode: CageMode;
  /**
   * wgcage's end of the socket service's socketpair (launcher/forward_service.h),
   * or -1 without one. Requests written before {@linkcode start} are served
   * before the command runs. Closed by {@linkcode close}.
   */
  readonly serviceFd: number;

  readonly #ffi: LauncherSymbols;
  readonly #ctx: FailureContext;
  readonly #ttyFd: number;
  #syncFd: number;
  #started = false;
  #status: Promise<number> | undefined;
  #reaped = false;
  /** Removes the SIGCONT listener of job control, when there is one. */
  #stopResuming: () => void = () => {};
  #closed = false;

  private constructor(
    ffi: LauncherSymbols,
    out: Int32Array,
    ctx: FailureContext,
    tunIndex: number,
  ) {
    this.#ffi = ffi;
    this.tunIndex = tunIndex;
    this.pid = out[OutWord.Pid];
    this.#syncFd = out[OutWord.Sync];
    this.tunFd = out[OutWord.Tun];
    this.netlinkFd = out[OutWord.Netlink];
    this.#ttyFd = out[OutWord.Tty];
    this.serviceFd = out[OutWord.Service];
    this.mode = ctx.mode;
    this.#ctx = ctx;
  }

  /**
   * Clones the cage. Resolves once the child holds the TUN device and the
   * netlink socket and waits for {@linkcode start}. Throws
   * {@linkcode CageError} (exit status 125) when the cage cannot be made.
   */
  static async open(spec: CageSpec): Promise<Cage> {
    await prepareLauncher();
    return await Cage.begin(spec);
  }

  /**
   * Clones the cage now, before it returns (the launcher prepared), and
   * returns the promise of {@linkcode open}: the child makes the TUN device
   * and the netlink socket, then covers the host paths, lays the /etc files
   * and mounts /proc while the caller goes on (the core, the keys, the first
   * handshake). A caller that no longer wants the cage awaits the promise
   * and closes what it gives.
   */
  static begin(spec: CageSpec): Promise<Cage> {
    let ffi: LauncherSymbols;
    let out: Int32Array;
    let ctx: FailureContext;
    try {
      ffi = launcher();
      const request = encodeRequest({
        argv: spec.argv,
        tunName: spec.tunName,
        mapRoot: spec.mapRoot,
        noUserns: spec.noUserns ?? false,
        hostname: spec.hostname ?? "",
        resolvConf: spec.etcFiles.resolvConf,
        hosts: spec.etcFiles.hosts,
        nsswitchConf: spec.etcFiles.nsswitchConf,
        path: spec.path ?? Deno.env.get("PATH") ?? DEFAULT_PATH,
        hidePaths: spec.hidePaths ?? [],
        initFd: initProgramFd(),
        hold: spec.hold ?? false,
        socketService: spec.socketService ?? false,
      });
      out = new Int32Array(OutWord.Count);
      const rc = ffi.wgl_cage_open(request, request.length, out);
      ctx = {
        command: spec.argv[0],
        tunName: spec.tunName,
        mode: cageMode(out[OutWord.Mode]),
        userns: !(spec.noUserns ?? false),
      };
      if (rc < 0) throw cageFailure(out[OutWord.Stage], out[OutWord.Errno], ctx);
    } catch (e) {
      return Promise.reject(e);
    }
    return Cage.#receiveFds(ffi, out, ctx);
  }

  /** The child's TUN and netlink fds, then the cage; on failure, the child killed and reaped. */
  static async #receiveFds(
    ffi: LauncherSymbols,
    out: Int32Array,
    ctx: FailureContext,
  ): Promise<Cage> {
    const fds = new Int32Array(3);
    const rc = await ffi.wgl_cage_await_fds(out[OutWord.Sync], fds);
    if (rc !== 0) {
      ffi.wgl_cage_signal(out[OutWord.Pid], 9);
      await ffi.wgl_cage_wait(out[OutWord.Pid]);
      ffi.wgl_fd_close(out[OutWord.Sync]);
      if (out[OutWord.Service] >= 0) ffi.wgl_fd_close(out[OutWord.Service]);
      throw rc === 1 ? cageFailure(fds[0], fds[1], ctx) : cageFailure(Stage.Sync, -rc, ctx);
    }
    out[OutWord.Tun] = fds[0];
    out[OutWord.Netlink] = fds[1];
    ffi.wgl_fd_set_recv_timeout(out[OutWord.Netlink], NETLINK_RECV_TIMEOUT_MS);
    return new Cage(ffi, out, ctx, fds[2]);
  }

  /** The netlink socket as a transport for src/netlink. */
  netlink(): NetlinkTransport {
    this.#assertOpen("use the netlink socket");
    return new NetlinkFd(this.#ffi, this.netlinkFd);
  }

  /**
   * The go-ahead: the cage's init, set up and waiting, runs the command.
   * Resolves once the command was exec'd (or the child's set-up failed); rejects
   * with {@linkcode CageError} (126, 127, or 125 for a setup failure).
   */
  async start(): Promise<void> {
    this.#assertOpen("start the cage");
    if (this.#started) throw new Error("Cannot start the cage: it was started already");
    this.#started = true;
    const go = this.#ffi.wgl_cage_go(this.#syncFd);
    // Read even when the go-ahead could not be sent: a child that failed a
    // stage of its set-up before it (the /etc files, /proc) reported it and
    // left, and the report waits on the socket.
    const out = new Int32Array(2);
    const rc = await this.#ffi.wgl_cage_await_exec(this.#syncFd, out);
    this.#closeSync();
    if (rc === 1) throw cageFailure(out[0], out[1], this.#ctx);
    if (rc < 0) throw cageFailure(Stage.Sync, -rc, this.#ctx);
    if (go < 0) throw cageFailure(Stage.Sync, -go, this.#ctx);
    if (this.#ttyFd >= 0) this.#resumeOnContinue();
  }

  /**
   * Job control: when Ctrl-Z stopped the command, the init stopped wgcage
   * too, so the shell saw its job stop. When the shell continues wgcage (fg
   * or bg), the init resumes the command, handing it the terminal if wgcage
   * has it.
   */
  #resumeOnContinue(): void {
    const resume = () => {
      if (!this.#reaped) this.#ffi.wgl_cage_resume(this.pid, this.#ttyFd);
    };
    Deno.addSignalListener("SIGCONT", resume);
    this.#stopResuming = () => Deno.removeSignalListener("SIGCONT", resume);
  }

  /**
   * Resolves with the cage's exit status as a shell reports it: the command's
   * exit code, or 128 + N when a signal N ended it. Safe to call repeatedly.
   */
  wait(): Promise<number> {
    this.#status ??= this.#ffi.wgl_cage_wait(this.pid).then((status) => {
      this.#reaped = true;
      this.#stopResuming();
      if (this.#ttyFd >= 0) this.#ffi.wgl_tty_reclaim(this.#ttyFd);
      if (status < 0) throw new Error(`Cannot wait for the cage: errno ${-status}`);
      return status;
    });
    return this.#status;
  }

  /** Sends a signal to the cage's init, which forwards it to the command. */
  signal(sig: SignalName | number): void {
    if (this.#reaped) throw new Error("Cannot signal the cage: it has ended");
    const rc = this.#ffi.wgl_cage_signal(this.pid, signalNumber(sig));
    if (rc < 0) throw new Error(`Cannot signal the cage: errno ${-rc}`);
  }

  /** Ends the cage and everything in it now (SIGKILL to its init). */
  kill(): void {
    if (!this.#reaped) this.#ffi.wgl_cage_signal(this.pid, 9);
  }

  /**
   * Closes the fds, ends the cage if it still runs, and waits for it. Safe to
   * call twice.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeSync();
    this.#ffi.wgl_fd_close(this.tunFd);
    this.#ffi.wgl_fd_close(this.netlinkFd);
    if (this.serviceFd >= 0) this.#ffi.wgl_fd_close(this.serviceFd);
    this.kill();
    await this.wait().catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #closeSync(): void {
    if (this.#syncFd >= 0) {
      this.#ffi.wgl_fd_close(this.#syncFd);
      this.#syncFd = -1;
    }
  }

  #assertOpen(what: string): void {
    if (this.#closed) throw new Error(`Cannot ${what}: the cage is closed`);
  }
}
