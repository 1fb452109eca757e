/**
 * A tunnel: one WireGuard device (the WASM core), one UDP socket in the host
 * namespaces, one cage whose only interface besides `lo` is the TUN, and the
 * data path loop between them. `wgcage run` opens one; the demo opens two.
 *
 * Bring-up, in order: resolve endpoints (fail before anything is made) →
 * published ports bound → cage cloned (the child sets itself up and waits
 * while the rest goes on) → UDP socket → the core (while it compiles, the
 * links over netlink as soon as the cage sends its TUN and netlink socket)
 * → device and peers → handshake initiations sent → links done → data path
 * (which takes the responses) → the command, once a handshake completed.
 *
 * @module
 */

import type { Cidr, TunnelConfig } from "./config/types.ts";
import { formatCidr } from "./config/cidr.ts";
import { formatEndpoint, type ResolvedEndpoint } from "./config/endpoint.ts";
import { isHostName, resolveEndpointAll } from "./config/resolve_endpoint.ts";
import { Cage } from "./cage/mod.ts";
import { prepareLauncher } from "./launcher/library.ts";
import { wipeResidentPages } from "./launcher/wipe.ts";
import { configureLinks, fitToMtu } from "./netlink/configure.ts";
import { cageEtcFiles } from "./dns/cage_etc.ts";
import { type Clock, systemClock } from "./datapath/clock.ts";
import { DataPath, sendControl } from "./datapath/loop.ts";
import { bindPerPacket, LauncherPacketIo, wantVnetHdr } from "./datapath/launcher_io.ts";
import { UdpSocket } from "./datapath/udp_socket.ts";
import { CoreAdapter } from "./datapath/core_adapter.ts";
import { DropCounts } from "./datapath/drops.ts";
import {
  HandshakeDiagnosis,
  handshakeFailureMessage,
  type HandshakeTarget,
} from "./datapath/handshake_diagnosis.ts";
import { probeUdpEndpoint } from "./datapath/udp_probe.ts";
import { type Batch, WgDevice } from "./wg/device.ts";
import { EventKind } from "./wg/abi.ts";
import { TunnelError } from "./tunnel_error.ts";
import type { Forwarder, ForwardPlan } from "./forward/forwarder.ts";
import { planRelays } from "./forward/plan.ts";
import { EndpointFollower } from "./endpoint_follower.ts";
import { DnsWatch } from "./datapath/dns_watch.ts";
import { phaseBegins, phaseEnds } from "./startup_breakdown.ts";

export interface TunnelOptions {
  readonly config: TunnelConfig;
  /** The command to run in the cage. */
  readonly argv: readonly string[];
  readonly tunName: string;
  /** Run the command as uid 0 of the cage. */
  readonly mapRoot: boolean;
  /** As root: no user namespace for the cage (no boundary). */
  readonly noUserns?: boolean;
  /** Host sockets covered in the cage (see cage/host_sockets.ts). */
  readonly hidePaths: readonly string[];
  readonly hostname?: string;
  /** Called with each line of `-v` output. */
  readonly log?: (line: string) => void;
  /** Called with each warning line (always shown). */
  readonly warn: (line: string) => void;
  /** Published ports and host services (src/forward/). */
  readonly forwards?: ForwardPlan;
  readonly clock?: Clock;
  /** A live cage (`wgcage up`): no command; the cage stays until closed. */
  readonly hold?: boolean;
}

const BATCH = 64;
const CONTROL_BATCH = 16;
/** Inbound slots hold any datagram a peer may send, whatever its MTU. */
const INBOUND_SLOT = 65536;

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

function shortKey(b64: string): string {
  return `${b64.slice(0, 8)}…`;
}

/** Routes for the cage: every AllowedIPs prefix of every peer, each once. */
function routesOf(config: TunnelConfig): Cidr[] {
  const seen = new Set<string>();
  const routes: Cidr[] = [];
  for (const peer of config.peers) {
    for (const cidr of peer.allowedIps) {
      const key = formatCidr(cidr);
      if (!seen.has(key)) {
        seen.add(key);
        routes.push(cidr);
      }
    }
  }
  return routes;
}

interface HandshakeWaiter {
  readonly deadline: number;
  readonly resolve: () => void;
  /** `early`: every endpoint refused, before the deadline. */
  readonly reject: (early?: boolean) => void;
}

export class Tunnel {
  readonly cage: Cage;
  readonly device: WgDevice;
  readonly listenPort: number;
  /** The packets the core dropped, by reason (`wgcage show`). */
  readonly drops: DropCounts;
  readonly #datapath: DataPath<Batch>;
  readonly #io: LauncherPacketIo<Batch>;
  readonly #running: Promise<void>;
  readonly #udp: UdpSocket;
  /** The socket's offloads as `-v` last said them. */
  #udpOffloads: number;
  readonly #o: TunnelOptions;
  readonly #peerIds: number[];
  readonly #endpoints: (ResolvedEndpoint | undefined)[];
  readonly #clock: Clock;
  /** Who waits for the first handshake, and until when (monotonic ms). */
  readonly #handshakeWaiters: HandshakeWaiter[] = [];
  /** Work for later ({@linkcode Tunnel.later}): what, and when (monotonic ms). */
  readonly #later: { readonly at: number; readonly run: () => void }[] = [];
  /** Why the first handshake is late: ICMP errors, answers that did not authenticate. */
  #diagnosis: HandshakeDiagnosis | undefined;
  readonly #forwarder: Forwarder | undefined;
  /** Looks host-name endpoints up again when handshakes to them fail. */
  readonly #follower: EndpointFollower;
  #sessions = 0;
  #closed = false;

  private constructor(
    o: TunnelOptions,
    parts: {
      cage: Cage;
      device: WgDevice;
      udp: UdpSocket;
      datapath: DataPath<Batch>;
      io: LauncherPacketIo<Batch>;
      peerIds: number[];
      endpoints: (ResolvedEndpoint | undefined)[];
      clock: Clock;
      forwarder: Forwarder | undefined;
      drops: DropCounts;
    },
  ) {
    this.#o = o;
    this.#clock = parts.clock;
    this.cage = parts.cage;
    this.device = parts.device;
    this.#udp = parts.udp;
    this.#udpOffloads = parts.udp.offloads;
    this.listenPort = parts.udp.port;
    this.#datapath = parts.datapath;
    this.drops = parts.drops;
    this.#io = parts.io;
    this.#peerIds = parts.peerIds;
    this.#endpoints = parts.endpoints;
    this.#forwarder = parts.forwarder;
    this.#follower = new EndpointFollower({
      now: () => this.#clock.now(),
      lookup: (spec) => resolveEndpointAll(spec),
      current: (peer) => this.device.endpoint(peer),
      move: (peer, to, initiate) => {
        this.device.setEndpoint(peer, to);
        this.#endpoints[this.#peerIds.indexOf(peer)] = to;
        if (initiate) this.device.initiate(peer, this.#clock.now(), this.#clock.wall());
        this.#datapath.kick();
      },
      wake: () => this.#datapath.kick(),
      log: o.log,
    });
    this.#running = this.#datapath.start();
    this.#running.catch(() => {});
  }

  /** Builds everything up to (not including) the handshake and the command. */
  static async open(o: TunnelOptions): Promise<Tunnel> {
    const { config } = o;
    const clock = o.clock ?? systemClock;
    phaseBegins("core instance and self test");
    const creating = WgDevice.create();
    creating.catch(() => {});
    const resolved = await Promise.all(
      config.peers.map((p) => p.endpoint ? resolveEndpointAll(p.endpoint) : undefined),
    );
    const endpoints = resolved.map((all) => all?.[0]);
    o.log?.("endpoints resolved");
    let device: WgDevice | undefined;
    let udp: UdpSocket | undefined;
    let caging: Promise<Cage> | undefined;
    let cage: Cage | undefined;
    let io: LauncherPacketIo<Batch> | undefined;
    let forwarder: Forwarder | undefined;
    let linking: Promise<{ cage: Cage; io: LauncherPacketIo<Batch> }> | undefined;
    try {
      // First: a published host port that is taken fails before anything is made.
      const forwards = o.forwards;
      if (forwards && planRelays(forwards)) {
        const { Forwarder } = await import("./forward/forwarder.ts");
        forwarder = await Forwarder.bind(forwards);
      }
      // The cage next: the child makes its namespaces, TUN, netlink socket,
      // covers, /etc files and /proc while this thread brings up the core,
      // the keys and the UDP socket and sends the first handshakes.
      phaseBegins("clone and namespaces");
      const etcFiles = cageEtcFiles(config, o.hostname ?? Deno.hostname(), o.warn);
      await prepareLauncher();
      const restoreVnetHdr = wantVnetHdr();
      try {
        caging = Cage.begin({
          argv: o.argv,
          tunName: o.tunName,
          mapRoot: o.mapRoot,
          noUserns: o.noUserns,
          hidePaths: o.hidePaths,
          hostname: o.hostname,
          etcFiles: forwarder
            ? { ...etcFiles, hosts: forwarder.etcHosts(etcFiles.hosts) }
            : etcFiles,
          socketService: forwarder !== undefined,
          hold: o.hold,
        });
      } finally {
        // The child took the wish with its copy of memory at the clone.
        restoreVnetHdr();
      }
      caging.catch(() => {});
      // While the core may still be compiling: the socket, the launcher
      // functions of the data path bound, and the cage's links configured as
      // soon as the child sends its TUN and netlink socket.
      udp = await UdpSocket.open(config.iface.listenPort ?? 0);
      const socket = udp;
      bindPerPacket(socket);
      linking = caging.then((made) => {
        cage = made;
        phaseEnds("clone and namespaces");
        phaseBegins("TUN and netlink");
        o.log?.(`cage made (${made.mode}, pid ${made.pid})`);
        const madeIo = new LauncherPacketIo<Batch>(made.tunFd, socket);
        io = madeIo;
        o.log?.(`offloads: ${madeIo.describeOffloads()}`);
        const links = fitToMtu({
          tunName: o.tunName,
          mtu: config.iface.mtu,
          addresses: config.iface.addresses,
          routes: routesOf(config),
        });
        if (links.warning !== undefined) o.warn(links.warning);
        configureLinks(made.netlink(), links.plan, made.tunIndex);
        phaseEnds("TUN and netlink");
        o.log?.("links configured");
        return { cage: made, io: madeIo };
      });
      linking.catch(() => {});
      device = await creating;
      const failed = device.selfTest();
      if (failed !== 0) {
        throw new TunnelError(
          `The WireGuard core failed its built-in self test (check ${failed}); this build is broken: ` +
            "reinstall wgcage or rebuild it with 'deno task build'",
        );
      }
      phaseEnds("core instance and self test");
      phaseBegins("keys, peers and UDP socket");
      o.log?.("core ready (self test passed)");
      const dev = device;
      dev.setPrivateKey(config.iface.privateKey.bytes);
      const peerIds = config.peers.map((p, i) => {
        const id = dev.addPeer({
          publicKey: p.publicKey.bytes,
          presharedKey: p.presharedKey?.bytes,
          keepalive: p.persistentKeepalive,
          allowedIps: p.allowedIps,
        });
        const ep = endpoints[i];
        if (ep) dev.setEndpoint(id, ep);
        return id;
      });

      // Handshakes start before the cage is ready, so the round trip to the
      // peers overlaps the cage's set-up; the loop picks up the responses.
      const batches = {
        outbound: dev.batch(BATCH, roundUp(config.iface.mtu + 64, 64)),
        inbound: dev.batch(BATCH, INBOUND_SLOT),
        control: dev.batch(CONTROL_BATCH, Math.max(roundUp(config.iface.mtu + 64, 64), 256)),
      };
      const core = new CoreAdapter(dev);
      const now = clock.now();
      const wall = clock.wall();
      peerIds.forEach((id, i) => {
        if (endpoints[i]) dev.initiate(id, now, wall);
      });
      phaseEnds("keys, peers and UDP socket");
      if (endpoints.some((e) => e !== undefined)) phaseBegins("first handshake");
      sendControl(core, batches.control, (b, n) => socket.send(b, n), now, wall);

      const linked = await linking;
      const made = linked.cage;
      io = linked.io;
      phaseBegins("data path start");
      // Before the go-ahead: the host services' sockets exist before the command.
      forwarder?.attach(made.serviceFd, o.log);
      let drain: () => void = () => {};
      const drops = new DropCounts();
      // -v names a DNS server that stays silent (datapath/dns_watch.ts).
      const dnsWatch = o.log === undefined ? undefined : new DnsWatch(o.log);
      const datapath = new DataPath<Batch>({
        core,
        io,
        clock,
        batches,
        onTurn: dnsWatch === undefined ? () => drain() : () => {
          drain();
          dnsWatch.check(clock.now());
        },
        onProcessed: dnsWatch === undefined ? (b, n) => drops.count(b.descView(), n) : (b, n) => {
          drops.count(b.descView(), n);
          if (b === batches.inbound) dnsWatch.inboundBatch(b, n);
        },
        onRead: dnsWatch && ((b, n) => dnsWatch.outboundBatch(b, n, clock.now())),
      });
      const tunnel = new Tunnel(o, {
        cage: made,
        device: dev,
        udp: socket,
        datapath,
        io,
        peerIds,
        endpoints,
        clock,
        forwarder,
        drops,
      });
      config.peers.forEach((p, i) => {
        const all = resolved[i];
        if (p.endpoint && all && isHostName(p.endpoint)) {
          const who = `peer ${shortKey(p.publicKey.toString())}`;
          tunnel.#follower.follow(peerIds[i], who, p.endpoint, all);
        }
      });
      drain = () => {
        tunnel.#noteOffloadChanges();
        tunnel.#drainEvents();
        tunnel.#follower.applyPending();
        tunnel.#checkHandshakeDeadlines();
        tunnel.#runLater();
      };
      // The loop's first turn ran in the constructor, before `drain` was set:
      // take its events now (a handshake the peer answered while the cage was
      // made completes here) rather than on the next turn, a trip through the
      // event loop later.
      drain();
      datapath.kick();
      phaseEnds("data path start");
      return tunnel;
    } catch (e) {
      await forwarder?.close();
      // The links may still be in the making: they set `cage` and `io`.
      await linking?.catch(() => {});
      io?.close();
      cage ??= await caging?.catch(() => undefined);
      if (cage) {
        cage.kill();
        await cage.close();
      }
      udp?.close();
      (device ?? await creating.catch(() => undefined))?.close();
      throw e;
    }
  }

  /**
   * Peer `id` left the core (a live cage's `set=1`); the core hands its id to
   * the next peer it adds, which must not inherit what this tunnel knew of
   * the config's peer (its name to follow, its endpoint, its log label).
   */
  peerRemoved(id: number): void {
    this.#follower.forget(id);
    const i = this.#peerIds.indexOf(id);
    if (i < 0) return;
    this.#peerIds[i] = -1;
    this.#endpoints[i] = undefined;
  }

  /** The relay between the host and the cage, when the run has one. */
  get forwarder(): Forwarder | undefined {
    return this.#forwarder;
  }

  /** The core's id of each peer of the config, in its order. */
  get peerIds(): readonly number[] {
    return this.#peerIds;
  }

  /**
   * Runs `run` once, from the data path's turn, `delayMs` from now; not at all
   * if the tunnel closes first. No timer: see {@linkcode waitForHandshake}.
   */
  later(delayMs: number, run: () => void): void {
    const at = this.#clock.now() + delayMs;
    this.#later.push({ at, run });
    this.#datapath.wakeAt(at);
  }

  #runLater(): void {
    if (this.#later.length === 0) return;
    const now = this.#clock.now();
    for (let i = this.#later.length - 1; i >= 0; i--) {
      const job = this.#later[i];
      if (now < job.at) continue;
      this.#later.splice(i, 1);
      job.run();
    }
    // The data path keeps one wake-up time: another deadline may have used it.
    for (const job of this.#later) this.#datapath.wakeAt(job.at);
  }

  /** Has the data path turn now (after the device was changed from outside it). */
  wake(): void {
    this.#datapath.kick();
  }

  /** Whether any peer has an endpoint to start a handshake with. */
  get initiates(): boolean {
    return this.#endpoints.some((e) => e !== undefined);
  }

  /**
   * `-v`: the launcher turns UDP GSO off for good when a send fails with EIO
   * or EINVAL (the route's device cannot segment, as with its checksum
   * offload off) and sends one datagram at a time from then on.
   */
  #noteOffloadChanges(): void {
    const now = this.#udp.offloads;
    if (now === this.#udpOffloads) return;
    this.#udpOffloads = now;
    this.#o.log?.(`offloads changed: ${this.#udp.describeOffloads()} (the route cannot segment)`);
  }

  #drainEvents(): void {
    for (const ev of this.device.events()) {
      const peer = this.#o.config.peers[this.#peerIds.indexOf(ev.peer)];
      const who = peer ? `peer ${shortKey(peer.publicKey.toString())}` : `peer ${ev.peer}`;
      switch (ev.kind) {
        case EventKind.SessionStarted:
          this.#sessions++;
          phaseEnds("first handshake");
          this.#follower.sessionStarted(ev.peer);
          this.#o.log?.(
            `${who}: handshake complete (${ev.a === 1 ? "we initiated" : "they initiated"})`,
          );
          for (const w of this.#handshakeWaiters.splice(0)) w.resolve();
          break;
        case EventKind.HandshakeSent:
          this.#o.log?.(`${who}: handshake initiation sent${ev.a === 1 ? " (retry)" : ""}`);
          this.#follower.handshakeSent(ev.peer, ev.a === 1);
          break;
        case EventKind.HandshakeGaveUp:
          this.#o.log?.(`${who}: no handshake after 90 s; giving up until there is traffic`);
          break;
        case EventKind.EndpointChanged: {
          const ep = this.device.endpoint(ev.peer);
          this.#o.log?.(`${who}: endpoint is now ${ep ? formatEndpoint(ep) : "unknown"}`);
          break;
        }
        case EventKind.RekeyStarted:
          this.#o.log?.(`${who}: rekeying`);
          break;
        case EventKind.CookieReceived:
          this.#o.log?.(`${who}: peer is under load; retrying with a cookie`);
          break;
        case EventKind.KeysZeroed:
          this.#o.log?.(`${who}: session keys expired and were wiped`);
          break;
      }
    }
  }

  /**
   * Resolves at the first completed handshake with any peer; rejects with a
   * {@linkcode TunnelError} naming the endpoints after `timeoutMs`.
   */
  async waitForHandshake(timeoutMs: number): Promise<void> {
    if (this.#sessions > 0) return;
    // The data path keeps the deadline: it turns by then even when idle. (A
    // timer would do too, but the first setTimeout in a Deno process loads
    // Node's timers, ~13 ms of start-up.)
    const now = this.#clock.now();
    const deadline = now + timeoutMs;
    const done = new Promise<void>((resolve, reject) => {
      this.#handshakeWaiters.push({
        deadline,
        resolve,
        reject: (early) => reject(this.#handshakeTimeout(early ? undefined : timeoutMs)),
      });
    });
    this.#diagnosis ??= new HandshakeDiagnosis({
      targets: this.#handshakeTargets(),
      probe: probeUdpEndpoint,
      drops: () => this.drops.byReason(),
      now,
    });
    this.#datapath.wakeAt(Math.min(deadline, this.#diagnosis.probeAt));
    const stopped = this.#running.then(() => {
      throw new TunnelError("The data path stopped before a handshake completed");
    });
    await Promise.race([done, stopped]);
  }

  #checkHandshakeDeadlines(): void {
    const now = this.#clock.now();
    if (this.#handshakeWaiters.length > 0) {
      // Every endpoint refused (ICMP port unreachable): no need to wait on.
      this.#diagnosis?.tick(now, () => {
        for (const w of this.#handshakeWaiters.splice(0)) w.reject(true);
      });
    }
    for (let i = this.#handshakeWaiters.length - 1; i >= 0; i--) {
      const w = this.#handshakeWaiters[i];
      if (now >= w.deadline) {
        this.#handshakeWaiters.splice(i, 1);
        w.reject();
      }
    }
    // The data path keeps one wake-up time: the probe's may have used it.
    for (const w of this.#handshakeWaiters) this.#datapath.wakeAt(w.deadline);
  }

  /** The peers a handshake is tried with: those with an endpoint. */
  #handshakeTargets(): HandshakeTarget[] {
    const targets: HandshakeTarget[] = [];
    this.#o.config.peers.forEach((p, i) => {
      const endpoint = this.#endpoints[i];
      if (endpoint === undefined) return;
      const label = `${formatEndpoint(endpoint)} (peer ${shortKey(p.publicKey.toString())})`;
      targets.push({ label, endpoint });
    });
    return targets;
  }

  /** `timeoutMs` undefined: the wait ended early (every endpoint refused). */
  #handshakeTimeout(timeoutMs: number | undefined): TunnelError {
    const ours = new Uint8Array(this.device.publicKey()).toBase64();
    const findings = this.#diagnosis?.findings() ??
      { targets: this.#handshakeTargets(), icmp: [], unauthenticated: 0 };
    return new TunnelError(
      handshakeFailureMessage(
        findings,
        timeoutMs === undefined ? undefined : timeoutMs / 1000,
        ours,
      ),
    );
  }

  /**
   * Lets the command start; resolves with its exit status once it ends. If
   * the data path fails first, the command is stopped and a
   * {@linkcode TunnelError} says why.
   */
  async run(onStarted?: () => void): Promise<number> {
    phaseBegins("the command's exec");
    // The wait for the cage's end begins with the go-ahead, on a thread of
    // its own: a command that ends at once (`true`) has its status read
    // ~0.2 ms sooner than when the wait begins after the exec's confirmation.
    // When the exec fails, start() throws and close() awaits the same wait.
    const status = this.cage.wait();
    status.catch(() => {});
    await this.cage.start();
    phaseEnds("the command's exec");
    this.#forwarder?.start();
    onStarted?.();
    const failure = this.#running.then(() => undefined, (e: unknown) => e);
    const first = await Promise.race([status, failure]);
    if (typeof first === "number") return first;
    // The loop ended; when the cage is exiting anyway, its status wins.
    const late = await Promise.race([status, delay(200).then(() => undefined)]);
    if (late !== undefined) return late;
    this.cage.kill();
    await status;
    const why = first instanceof Error ? first.message : "it stopped";
    throw new TunnelError(`The data path failed (${why}); the command was stopped`);
  }

  /** Stops the data path and removes everything; safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#datapath.stop().catch(() => {});
    await this.#forwarder?.close();
    this.#io.close();
    this.cage.kill();
    await this.cage.close();
    this.#udp.close();
    this.device.close(wipeResidentPages);
  }
}
