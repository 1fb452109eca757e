/**
 * The keeper of a live cage (`wgcage up NAME`): it opens the tunnel as a run
 * does, but the cage's init runs no command and holds the namespaces; it
 * records the cage in the state directory, serves the control socket, and
 * ends the cage on Ctrl-C, SIGTERM (`wgcage down`), when its cage or data
 * path ends, or — with `--rm-when-idle` — when the last command that joined
 * it has ended. It removes everything it made on the way out; if it is
 * killed (-9), the cage's init dies with it (its death signal) and the next
 * wgcage command removes the state it left.
 *
 * @module
 */

import type { ConfigFlags, ConfigSource } from "../config/flags.ts";
import type { TunnelConfig } from "../config/types.ts";
import { hostLoadIo, loadConfig } from "../config/load.ts";
import { formatCidr } from "../config/cidr.ts";
import { protectProcess } from "../cage/mod.ts";
import { Tunnel } from "../tunnel.ts";
import { compileCore } from "../wg/wasm.ts";
import { releaseStartupCode } from "../launcher/startup_code.ts";
import { launcher } from "../launcher/library.ts";
import { describeErrno } from "../launcher/errno.ts";
import { describeHidden, hiddenWarning, hostSocketsToHide } from "../cage/host_sockets.ts";
import { secretFileCovers } from "../config/secret_files.ts";
import { withdrawSecretStdin } from "../cage/stdin_secret.ts";
import { stateDirsToCover } from "./state_cover.ts";
import { ControlServer } from "./control_server.ts";
import { LiveDevice } from "./live_device.ts";
import { type JoinSource, uapiHandler } from "./uapi_handler.ts";
import {
  claimName,
  processStartTime,
  removeState,
  socketPath,
  WG_SOCKET_DIR,
  writeRecord,
} from "./state.ts";
import type { LiveRecord } from "./state.ts";
import { LiveError } from "./error.ts";
import type { HostServiceSpec, PublishSpec } from "../forward/spec.ts";
import { type ForwardOptions, forwardPlanOf } from "../forward/plan.ts";
import type { Forwarder } from "../forward/forwarder.ts";

/** Set in the environment of a keeper that `up -d` started: it reports readiness on stdout. */
export const DETACHED_ENV = "WGCAGE_UP_DETACHED";
/** The line a detached keeper writes once the cage is up. */
export const READY_LINE = "wgcage-up-ready";

/** The run options a keeper uses (the CLI's RunOptions has them). */
export interface KeeperRunOptions extends ForwardOptions {
  readonly config?: ConfigSource;
  readonly flags: ConfigFlags;
  readonly handshakeTimeoutMs: number;
  readonly verbose: boolean;
  readonly root: boolean;
  readonly noUserns: boolean;
  readonly hideSockets: boolean;
  readonly keepSockets: string[];
  readonly tunName?: string;
  readonly hostname?: string;
  /** `-p`: ports of the cage published on the host, for whatever runs in it. */
  readonly publish?: readonly PublishSpec[];
  /** `--host-service`: host services reachable in the cage. */
  readonly hostServices?: readonly HostServiceSpec[];
}

export interface KeeperOptions {
  readonly name: string;
  readonly run: KeeperRunOptions;
  readonly rmWhenIdle: boolean;
  /** Ctrl-C, SIGTERM or SIGHUP: resolves with 128 + the signal. */
  readonly interruption: { readonly status: Promise<number>; remove(): void };
  /** A config its caller made (`wgcage serve`), instead of the run options' sources. */
  readonly config?: TunnelConfig;
  /**
   * Called once the cage is up and recorded, before the control socket
   * serves (`wgcage serve` adds its way out and its API here). What it
   * returns is closed before the cage ends; its `ended` ends the cage with
   * its reason.
   */
  readonly onUp?: (up: KeeperUp) => Promise<KeeperAddOn>;
  /** Whether a warning of the tunnel's bring-up is said (all are, unless this says no). */
  readonly keepWarning?: (line: string) => boolean;
}

/** What {@linkcode KeeperOptions.onUp} gets. */
export interface KeeperUp {
  readonly device: LiveDevice;
  /** The cage's init: the keeper's child, so its pid is not reused while the cage lives. */
  readonly initPid: number;
  readonly log?: (line: string) => void;
  readonly say: (line: string) => void;
  /** The relay between the host and the cage, when the run asked for one (`serve`'s forwards). */
  readonly forwarder?: Forwarder;
}

/** Something a keeper runs beside its cage. */
export interface KeeperAddOn {
  /** Resolves with a reason when it stopped by itself ("" when it was closed). */
  readonly ended?: Promise<string>;
  close(): Promise<void>;
}

/** As root: a link in /var/run/wireguard to the control socket, for the stock `wg`. */
function linkForWg(name: string, target: string): string | undefined {
  if (Deno.uid() !== 0) return undefined;
  const link = `${WG_SOCKET_DIR}/${name}.sock`;
  try {
    Deno.mkdirSync(WG_SOCKET_DIR, { recursive: true, mode: 0o755 });
    try {
      Deno.lstatSync(link);
      // Someone else's socket (a wireguard-go device of that name): leave it.
      return undefined;
    } catch {
      // free
    }
    Deno.symlinkSync(target, link);
    return link;
  } catch {
    return undefined;
  }
}

export async function runKeeper(o: KeeperOptions): Promise<number> {
  const started = performance.now();
  const detached = Deno.env.get(DETACHED_ENV) === "1";
  let quiet = false;
  const say = (line: string) => {
    if (!quiet) console.error(line);
  };
  await protectProcess();
  compileCore().catch(() => {});
  const dir = claimName(o.name);
  const sock = socketPath(dir, o.name);
  let wgLink: string | undefined;
  let tunnel: Tunnel | undefined;
  let server: ControlServer | undefined;
  let device: LiveDevice | undefined;
  let addOn: KeeperAddOn | undefined;
  // The cage's namespaces, opened once its init is up, for `wgcage exec`
  // (sent over the control socket; a pid from the record could be forged).
  const join: JoinSource & { namespaceFds: number[] } = {
    namespaceFds: [],
    configEnv: o.run.config?.kind === "env" ? o.run.config.name : undefined,
  };
  const interruption = o.interruption;
  try {
    const { config, warnings, secretFiles } = o.config !== undefined
      ? { config: o.config, warnings: [], secretFiles: [] }
      : await loadConfig({ config: o.run.config, flags: o.run.flags }, hostLoadIo);
    // The cage's init inherits stdin, which may be the key file.
    withdrawSecretStdin(o.run.config?.kind === "stdin", secretFiles);
    for (const w of warnings) say(w);
    const log = o.run.verbose
      ? (line: string) =>
        say(`wgcage: [${((performance.now() - started) / 1000).toFixed(3)}] ${line}`)
      : undefined;
    const sockets = hostSocketsToHide({
      hideAll: o.run.hideSockets,
      keep: o.run.keepSockets,
      runtimeDir: Deno.env.get("XDG_RUNTIME_DIR"),
      // Commands joined later share this cage's mount namespace, and its covers.
      stateDirs: stateDirsToCover(),
      // --socks-auth's login is a secret too (it may open more than this proxy).
      secretFiles: secretFileCovers(
        o.run.socksAuthFile === undefined ? secretFiles : [...secretFiles, o.run.socksAuthFile],
      ),
    });
    const truncated = hiddenWarning(sockets);
    if (truncated !== undefined) say(truncated);
    log?.(describeHidden(sockets, o.run.hideSockets));
    const opening = Tunnel.open({
      config,
      argv: ["wgcage-hold"],
      tunName: o.run.tunName ?? "wg0",
      mapRoot: o.run.root,
      noUserns: o.run.noUserns,
      hidePaths: sockets.paths,
      hostname: o.run.hostname,
      log,
      warn: (line) => {
        if (o.keepWarning?.(line) ?? true) say(line);
      },
      hold: true,
      forwards: forwardPlanOf(o.run, config, say),
    });
    const opened = await Promise.race([opening, interruption.status]);
    if (typeof opened === "number") {
      await opening.then((t) => t.close(), () => {});
      return opened;
    }
    tunnel = opened;
    if (tunnel.initiates && o.run.handshakeTimeoutMs > 0) {
      const handshake = tunnel.waitForHandshake(o.run.handshakeTimeoutMs).then(() => undefined);
      const interrupted = await Promise.race([handshake, interruption.status]);
      if (interrupted !== undefined) return interrupted;
    }
    device = new LiveDevice(tunnel, config, o.run.tunName ?? "wg0");
    let idle: () => void = () => {};
    const ended = new Promise<"idle">((resolve) => idle = () => resolve("idle"));
    let everHeld = false;
    const handler = uapiHandler(device, {
      onHold: () => {
        everHeld = true;
      },
      onRelease: () => {
        if (o.rmWhenIdle && everHeld && server !== undefined && server.holds === 0) idle();
      },
    }, join);
    server = ControlServer.open(launcher(), [sock], handler, log);
    wgLink = linkForWg(o.name, sock);
    let onStarted: () => void = () => {};
    const up = new Promise<void>((resolve) => onStarted = resolve);
    const running = tunnel.run(onStarted);
    const first = await Promise.race([up.then(() => "up" as const), running]);
    if (first !== "up") return first;
    // A live cage may run for days: its start-up's code pages go back now.
    releaseStartupCode();
    const cage = tunnel.cage;
    const nsFds = new Int32Array(5);
    const nsOpened = launcher().wgl_ctl_cage_fds(cage.pid, nsFds);
    if (nsOpened < 0) {
      throw new LiveError(
        `Cannot open the namespaces of the cage '${o.name}' (${
          describeErrno(-nsOpened)
        }); it may have just ended: start it again`,
      );
    }
    join.namespaceFds.push(...nsFds);
    const record: LiveRecord = {
      name: o.name,
      pid: Deno.pid,
      startTime: processStartTime(Deno.pid) ?? 0,
      initPid: cage.pid,
      ready: true,
      tunName: o.run.tunName ?? "wg0",
      mode: cage.mode,
      addresses: config.iface.addresses.map(formatCidr),
      publicKey: new Uint8Array(tunnel.device.publicKey()).toBase64(),
      listenPort: tunnel.listenPort,
      rmWhenIdle: o.rmWhenIdle,
      since: Date.now(),
      ...(wgLink !== undefined ? { wgLink } : {}),
    };
    writeRecord(dir, record);
    addOn = await o.onUp?.({
      device,
      initPid: cage.pid,
      log,
      say,
      ...(tunnel.forwarder ? { forwarder: tunnel.forwarder } : {}),
    });
    const addOnEnded = addOn?.ended?.then((why) => ({ why })) ?? new Promise<never>(() => {});
    const serving = server.start();
    if (detached) {
      await writeAll(Deno.stdout, `${READY_LINE}\n`);
      quiet = true;
    } else {
      say(
        `wgcage: cage '${o.name}' is up (tunnel ${record.tunName}, ${
          record.addresses.join(", ")
        }); ` +
          `run 'wgcage exec ${o.name} -- CMD'; Ctrl-C or 'wgcage down ${o.name}' ends it`,
      );
    }
    const outcome = await Promise.race([
      running,
      ended,
      // Ctrl-C, SIGHUP and SIGTERM ('wgcage down', timeout, systemd) are the
      // documented ways to end a live cage, not failures: the keeper exits 0.
      // The cage's init (not the keeper) ending by a signal is reported.
      interruption.status.then(() => "ended" as const),
      serving.then(() => "stopped" as const),
      addOnEnded,
    ]);
    if (typeof outcome === "object") {
      if (outcome.why === "") return 0;
      throw new LiveError(`The cage '${o.name}' ended: ${outcome.why}`);
    }
    if (typeof outcome === "number" && outcome >= 128 && outcome <= 131) return 0;
    if (outcome === "idle" || outcome === "stopped" || outcome === "ended") return 0;
    if (typeof outcome === "number") {
      throw new LiveError(`The cage '${o.name}' ended unexpectedly (status ${outcome})`);
    }
    return 0;
  } finally {
    interruption.remove();
    await addOn?.close().catch(() => {});
    await server?.stop().catch(() => {});
    await tunnel?.close().catch(() => {});
    device?.wipe();
    for (const fd of join.namespaceFds.splice(0)) launcher().wgl_fd_close(fd);
    removeState(dir, o.name, { wgLink } as LiveRecord);
  }
}

async function writeAll(w: typeof Deno.stdout, text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  let done = 0;
  while (done < bytes.length) done += await w.write(bytes.subarray(done));
}
