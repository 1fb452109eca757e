/**
 * The relay between the host and the cage, seen from TypeScript: published
 * ports (`-p`) and host services (`--host-service`). The work happens in the
 * launcher (launcher/forward.c, a thread of its own); this file binds, wires
 * and words.
 *
 * Life of a forwarder, in the tunnel's order:
 *
 *   1. {@linkcode Forwarder.bind}: the host side of every published port is
 *      bound before the cage is made, so a port in use or a privileged port
 *      fails first (exit 125);
 *   2. the cage is made with a socket service ({@linkcode Forwarder.etcHosts}
 *      names the host services in its /etc/hosts);
 *   3. {@linkcode Forwarder.attach}: before the cage's go-ahead, each host
 *      service asks the cage for a listening socket on 127.0.0.1, which then
 *      exists before the command does;
 *   4. {@linkcode Forwarder.start} once the command runs; {@linkcode
 *      Forwarder.close} at the end.
 *
 * @module
 */

import {
  formatHostAddress,
  formatHostService,
  formatLocalForward,
  formatPublish,
  HOST_SERVICE_NAME,
  type HostServiceSpec,
  type ListenSpec,
  type LocalForwardSpec,
  type PublishSpec,
} from "./spec.ts";
import type { IpAddress } from "../config/ip.ts";
import { Steering, type SteerRule } from "./steering.ts";
import { CageResolver } from "./cage_resolver.ts";
import { planRelays } from "./plan.ts";
import { type SocksCredentials, socksSession } from "./socks.ts";
import { httpProxySession } from "./http_proxy.ts";
import { localForwardSession } from "./local_forward.ts";
import {
  describeErrno,
  EACCES,
  EADDRINUSE,
  EADDRNOTAVAIL,
  EAFNOSUPPORT,
} from "../launcher/errno.ts";
import { LauncherError } from "../launcher/error.ts";
import { launcher, type LauncherSymbols, prepareLauncher } from "../launcher/library.ts";

/** What to relay. */
export interface ForwardPlan {
  readonly publish: readonly PublishSpec[];
  readonly hostServices: readonly HostServiceSpec[];
  /** `-L`: host ports relayed to addresses through the tunnel. */
  readonly local?: readonly LocalForwardSpec[];
  /** `--socks`, and its login when `--socks-auth` gave one. */
  readonly socks?: ListenSpec;
  readonly socksCredentials?: SocksCredentials;
  /** `--http-proxy`. */
  readonly httpProxy?: ListenSpec;
  /** The cage's DNS servers: names of -L and the proxies are resolved there. */
  readonly dnsServers?: readonly IpAddress[];
  /** The cage's tunnel addresses: a name resolving only to them is refused. */
  readonly cageAddresses?: readonly IpAddress[];
  /** `serve`: rules come and go while the relay runs (addLive), none may be there at first. */
  readonly live?: boolean;
}

/** The host listeners beyond -p, in rule order after -p and --host-service. */
interface Listener {
  readonly option: string;
  readonly text: string;
  readonly protocol: "tcp" | "udp";
  readonly hostAddress: IpAddress;
  readonly hostPort: number;
}

function listenersOf(plan: ForwardPlan): Listener[] {
  const out: Listener[] = (plan.local ?? []).map((l) => ({
    option: "-L",
    text: formatLocalForward(l),
    protocol: l.protocol,
    hostAddress: l.hostAddress,
    hostPort: l.hostPort,
  }));
  for (
    const [option, spec] of [["--socks", plan.socks], ["--http-proxy", plan.httpProxy]] as const
  ) {
    if (spec) {
      out.push({
        option,
        text: `${formatHostAddress(spec.hostAddress)}:${spec.hostPort}`,
        protocol: "tcp",
        hostAddress: spec.hostAddress,
        hostPort: spec.hostPort,
      });
    }
  }
  return out;
}

/** The one line for a host port of -L or a proxy that cannot be bound. */
export function listenFailure(l: Listener, errno: number): string {
  return cannotBind(
    `wgcage: Cannot listen on ${formatHostAddress(l.hostAddress)}:${l.hostPort}/${l.protocol} ` +
      `for ${l.option}`,
    l.hostAddress,
    errno,
    `choose another, e.g. ${l.hostPort === 65535 ? 8080 : l.hostPort + 1}`,
    `choose one of 1024 or above, e.g. ${l.hostPort + 8000}`,
  );
}

/** A UDP flow without a datagram either way for this long is closed. */
export const UDP_IDLE_MS = 60_000;

const PROTO = { tcp: 6, udp: 17 } as const;
const FLAG_EVENTS = 1;
const EVENT_WORDS = 4;
const EVENTS_AT_ONCE = 32;

/** launcher/forward.h `enum wgl_forward_event`. */
const Event = {
  CageRefused: 1,
  HostRefused: 2,
  Service: 3,
  Accept: 4,
  Limit: 5,
  UdpRefused: 6,
  Reset: 7,
  Socket: 8,
  CageListening: 9,
  TargetFailed: 10,
  SteerTimeout: 11,
  AssociateUnreachable: 13,
  Unresolved: 14,
} as const;

function unprivilegedPortStart(): string {
  try {
    return Deno.readTextFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start").trim();
  } catch {
    return "1024";
  }
}

/** The one line for a host port that cannot be bound. */
export function bindFailure(p: PublishSpec, errno: number): string {
  return cannotBind(
    `wgcage: Cannot publish ${formatHostAddress(p.hostAddress)}:${p.hostPort}/${p.protocol}`,
    p.hostAddress,
    errno,
    `choose another host port, e.g. -p ${
      p.hostPort === 65535 ? 8080 : p.hostPort + 1
    }:${p.cagePort}`,
    `choose a host port of 1024 or above, e.g. -p ${p.hostPort + 8000}:${p.cagePort}`,
  );
}

/**
 * The one line for a host address and port that cannot be bound, `what`
 * naming them: the reason, then what to do, where a port in use and a
 * privileged one get the caller's own advice (another -p, or another port).
 */
function cannotBind(
  what: string,
  host: IpAddress,
  errno: number,
  inUse: string,
  privileged: string,
): string {
  switch (errno) {
    case EADDRINUSE:
      return `${what}: the port is in use on the host; ${inUse}`;
    case EACCES:
      return `${what}: ports below ${unprivilegedPortStart()} need root ` +
        `(net.ipv4.ip_unprivileged_port_start); ${privileged}`;
    case EADDRNOTAVAIL:
      return `${what}: ${
        formatHostAddress(host)
      } is not an address of this host; give one it has, e.g. 127.0.0.1`;
    case EAFNOSUPPORT:
      return `${what}: this host has no IPv6; give an IPv4 address, e.g. 127.0.0.1`;
    default:
      return `${what}: ${describeErrno(errno)}`;
  }
}

/**
 * Binds the host side of each of `specs`, in order: their fds. At the first
 * that cannot be bound, closes every fd bound so far, `earlier`'s too, and
 * throws a {@linkcode LauncherError} with `failure`'s line for it.
 */
function bindEach<S extends Listener | PublishSpec>(
  ffi: LauncherSymbols,
  specs: readonly S[],
  failure: (spec: S, errno: number) => string,
  earlier: readonly number[],
): number[] {
  const fds: number[] = [];
  for (const spec of specs) {
    const fd = ffi.wgl_forward_bind(
      PROTO[spec.protocol],
      spec.hostAddress.family,
      spec.hostAddress.bytes as Uint8Array<ArrayBuffer>,
      spec.hostPort,
    );
    if (fd < 0) {
      for (const open of [...earlier, ...fds]) ffi.wgl_fd_close(open);
      throw new LauncherError(failure(spec, -fd), { errno: -fd });
    }
    fds.push(fd);
  }
  return fds;
}

/** The cage's /etc/hosts with the name of the host services added. */
export function etcHostsWithHostServices(hosts: string): string {
  return `${hosts}127.0.0.1\t${HOST_SERVICE_NAME}\n`;
}

export class Forwarder {
  readonly #ffi: LauncherSymbols;
  readonly #plan: ForwardPlan;
  /** Host fds of the published ports, until the forwarder takes them. */
  #hostFds: number[];
  /** Host fds of -L and the proxies (listenersOf's order), likewise. */
  #listenFds: number[] = [];
  #steering: Steering | undefined;
  /** -L /udp rules to a name, resolved once the relay runs. */
  readonly #udpNames: { rule: number; spec: LocalForwardSpec }[] = [];
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #handle = -1;
  #log: ((line: string) => void) | undefined;
  #events: Promise<void> | undefined;
  #closed = false;

  private constructor(ffi: LauncherSymbols, plan: ForwardPlan, hostFds: number[]) {
    this.#ffi = ffi;
    this.#plan = plan;
    this.#hostFds = hostFds;
  }

  /**
   * Binds the host side of every published port (nothing else is made yet).
   * Throws a {@linkcode LauncherError} (exit 125) naming the first port that cannot be
   * bound, with nothing left bound.
   */
  static async bind(plan: ForwardPlan): Promise<Forwarder> {
    await prepareLauncher();
    const ffi = launcher();
    const fds = bindEach(ffi, plan.publish, bindFailure, []);
    const listenFds = bindEach(ffi, listenersOf(plan), listenFailure, fds);
    const forwarder = new Forwarder(ffi, plan, fds);
    forwarder.#listenFds = listenFds;
    return forwarder;
  }

  /** Whether the cage needs its socket service. */
  get needed(): boolean {
    return planRelays(this.#plan);
  }

  /** The cage's /etc/hosts for this plan. */
  etcHosts(hosts: string): string {
    return this.#plan.hostServices.length > 0 ? etcHostsWithHostServices(hosts) : hosts;
  }

  /**
   * Wires the published ports and asks the cage for the host services'
   * listening sockets; call before the cage's go-ahead. `serviceFd` stays
   * the cage's to close.
   */
  attach(serviceFd: number, log?: (line: string) => void): void {
    if (this.#handle >= 0) throw new Error("Cannot attach a forwarder twice");
    this.#log = log;
    const handle = this.#ffi.wgl_forward_open(serviceFd, log ? FLAG_EVENTS : 0);
    if (handle < 0) {
      throw new LauncherError(
        `wgcage: Cannot relay between the host and the cage: ${describeErrno(-handle)}`,
      );
    }
    this.#handle = handle;
    this.#plan.publish.forEach((p, i) => {
      const fd = this.#hostFds[i];
      const rc = this.#ffi.wgl_forward_publish(handle, fd, PROTO[p.protocol], p.cagePort, i);
      if (rc < 0) {
        throw new LauncherError(
          `wgcage: Cannot publish ${formatPublish(p)}: ${describeErrno(-rc)}`,
        );
      }
      this.#hostFds[i] = -1; // the forwarder's now
      log?.(
        `publishing ${
          formatHostAddress(p.hostAddress)
        }:${p.hostPort}/${p.protocol} → port ${p.cagePort} in the cage`,
      );
    });
    this.#plan.hostServices.forEach((s, i) => {
      const rc = this.#ffi.wgl_forward_host_service(
        handle,
        s.cagePort,
        s.hostAddress.family,
        s.hostAddress.bytes as Uint8Array<ArrayBuffer>,
        s.hostPort,
        this.#plan.publish.length + i,
      );
      if (rc < 0) {
        throw new LauncherError(
          `wgcage: Cannot ask the cage to listen for --host-service ${formatHostService(s)}: ${
            describeErrno(-rc)
          }`,
        );
      }
    });
    this.#attachListeners(handle, log);
  }

  /** -L and the proxies: fixed addresses go to the relay, the rest are steered. */
  #attachListeners(handle: number, log?: (line: string) => void): void {
    const first = this.#plan.publish.length + this.#plan.hostServices.length;
    const rules = new Map<number, SteerRule>();
    const resolver = () => this.#resolver!;
    const ctx = { resolve: (name: string) => resolver().resolve(name), log };
    const local = this.#plan.local ?? [];
    listenersOf(this.#plan).forEach((l, i) => {
      const rule = first + i;
      const fd = this.#listenFds[i];
      const spec = i < local.length ? local[i] : undefined;
      let rc: number;
      if (spec?.target.kind === "address") {
        const to = spec.target.address;
        rc = this.#ffi.wgl_forward_local(
          handle,
          fd,
          PROTO[spec.protocol],
          to.family,
          to.bytes as Uint8Array<ArrayBuffer>,
          spec.targetPort,
          rule,
        );
      } else if (spec?.protocol === "udp") {
        // A name for UDP: the relay drops datagrams until start() resolved it.
        rc = this.#ffi.wgl_forward_local(handle, fd, PROTO.udp, 0, null, spec.targetPort, rule);
        this.#udpNames.push({ rule, spec });
      } else {
        rc = this.#ffi.wgl_forward_steer(handle, fd, rule);
        const credentials = this.#plan.socksCredentials;
        rules.set(
          rule,
          spec
            ? (c) => localForwardSession(c, ctx, spec)
            : l.option === "--socks"
            ? (c) => socksSession(c, ctx, credentials)
            : (c) => httpProxySession(c, ctx),
        );
      }
      if (rc < 0) {
        throw new LauncherError(
          `wgcage: Cannot relay ${l.option} ${l.text}: ${describeErrno(-rc)}`,
        );
      }
      this.#listenFds[i] = -1; // the forwarder's now
      log?.(
        spec
          ? `forwarding ${l.text} through the tunnel`
          : `${l.option} listening on ${l.text}; its connections are made in the cage`,
      );
    });
    if (rules.size > 0 || this.#udpNames.length > 0) {
      this.#steering = new Steering(this.#ffi, handle, rules);
      this.#resolver = new CageResolver(
        this.#ffi,
        this.#steering,
        this.#plan.dnsServers ?? [],
        this.#plan.cageAddresses ?? [],
      );
    }
  }

  #resolver: CageResolver | undefined;

  /**
   * A -L rule to a tunnel address added while the relay may run (`serve`'s
   * API): binds its host port now and hands it to the relay thread, which
   * takes it between two batches of events. `rule` names it for
   * {@linkcode removeLive}; pick numbers beyond the plan's rules (events
   * name it `rule N`). Throws a {@linkcode LauncherError} naming a port
   * that cannot be bound, with nothing left open.
   */
  addLive(spec: LocalForwardSpec, rule: number): void {
    if (this.#handle < 0) throw new Error("Cannot add a rule before attach()");
    if (spec.target.kind !== "address") {
      throw new Error("A rule added while the relay runs needs an address, not a name");
    }
    const listener: Listener = {
      option: "-L",
      text: formatLocalForward(spec),
      protocol: spec.protocol,
      hostAddress: spec.hostAddress,
      hostPort: spec.hostPort,
    };
    const [fd] = bindEach(this.#ffi, [listener], listenFailure, []);
    const to = spec.target.address;
    const rc = this.#ffi.wgl_forward_live_add(
      this.#handle,
      fd,
      PROTO[spec.protocol],
      to.family,
      to.bytes as Uint8Array<ArrayBuffer>,
      spec.targetPort,
      rule,
    );
    if (rc < 0) {
      this.#ffi.wgl_fd_close(fd);
      throw new LauncherError(
        `wgcage: Cannot relay ${listener.text}: ${describeErrno(-rc)}`,
        { errno: -rc },
      );
    }
  }

  /**
   * Removes rule `rule` while the relay may run: its host port closes, its
   * connections are reset. False when no rule has that number.
   */
  removeLive(rule: number): boolean {
    if (this.#handle < 0) return false;
    const rc = this.#ffi.wgl_forward_live_remove(this.#handle, rule);
    if (rc === -2) return false; // ENOENT
    if (rc < 0) {
      throw new LauncherError(
        `wgcage: Cannot remove relay rule ${rule}: ${describeErrno(-rc)}`,
        { errno: -rc },
      );
    }
    return true;
  }

  /** Starts relaying (the command runs); with `-v`, its events are logged. */
  start(): void {
    if (this.#handle < 0) throw new Error("Cannot start a forwarder before attach()");
    const rc = this.#ffi.wgl_forward_start(this.#handle, UDP_IDLE_MS);
    if (rc < 0) {
      throw new LauncherError(
        `wgcage: Cannot start relaying between the host and the cage: ${describeErrno(-rc)}`,
      );
    }
    if (this.#log) this.#events = this.#readEvents(this.#handle, this.#log);
    this.#steering?.start();
    for (const { rule, spec } of this.#udpNames) void this.#followUdpName(rule, spec);
  }

  /** -L /udp to a name: its address in the cage now, and again every minute. */
  async #followUdpName(rule: number, spec: LocalForwardSpec): Promise<void> {
    const name = spec.target.kind === "name" ? spec.target.name : "";
    const what = `-L ${formatLocalForward(spec)}`;
    let last = "";
    while (!this.#closed) {
      let waitMs = 60_000;
      try {
        const [to] = await this.#resolver!.resolve(name);
        const text = formatHostAddress(to);
        if (!this.#closed && text !== last) {
          this.#steering!.setTarget(rule, to, spec.targetPort);
          this.#log?.(`${what}: ${name} is ${text} in the cage`);
          last = text;
        }
      } catch (e) {
        this.#log?.(`${what}: cannot resolve ${(e as Error).message} in the cage; again in 5 s`);
        waitMs = 5_000;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          resolve();
        }, waitMs);
        this.#timers.add(timer);
      });
    }
  }

  /** Connections open, flows open, connections accepted, connections turned away. */
  stats(): { connections: number; flows: number; accepted: number; turnedAway: number } {
    const out = new Uint32Array(4);
    if (this.#handle >= 0) this.#ffi.wgl_forward_stats(this.#handle, out);
    return { connections: out[0], flows: out[1], accepted: out[2], turnedAway: out[3] };
  }

  async #readEvents(handle: number, log: (line: string) => void): Promise<void> {
    const buf = new Uint32Array(EVENTS_AT_ONCE * EVENT_WORDS);
    for (;;) {
      const n = await this.#ffi.wgl_forward_events(handle, buf, EVENTS_AT_ONCE);
      if (n <= 0) return;
      for (let i = 0; i < n; i++) {
        const at = i * EVENT_WORDS;
        log(this.#describe(buf[at], buf[at + 1], buf[at + 2], buf[at + 3]));
      }
    }
  }

  #ruleName(rule: number): string {
    const { publish, hostServices } = this.#plan;
    if (rule < publish.length) return `-p ${formatPublish(publish[rule])}`;
    const s = hostServices[rule - publish.length];
    if (s) return `--host-service ${formatHostService(s)}`;
    const l = listenersOf(this.#plan)[rule - publish.length - hostServices.length];
    return l ? `${l.option} ${l.text}` : `rule ${rule}`;
  }

  #describe(kind: number, rule: number, errno: number, extra: number): string {
    const name = this.#ruleName(rule);
    switch (kind) {
      case Event.CageRefused:
        return `${name}: nothing listens on port ${extra} in the cage (127.0.0.1 and ::1 refused); the client got a reset`;
      case Event.HostRefused:
        return `${name}: the host's service refused the connection (${
          describeErrno(errno)
        }); the cage's client got a reset`;
      case Event.Service:
        return extra === 1
          ? `the cage's socket service ended (${
            describeErrno(errno)
          }); new connections cannot reach the cage`
          : `${name}: the cage's socket service did not take the request (${describeErrno(errno)})`;
      case Event.Accept:
        return `${name}: cannot accept a connection (${describeErrno(errno)})`;
      case Event.Limit:
        // errno EMFILE (24): the open-file limit, not the fixed cap, set `extra`.
        return errno === 24
          ? `${name}: ${extra} at once already, as many as the open-file limit leaves room ` +
            `for beside the tunnel (raise 'ulimit -n'); a new one was turned away`
          : `${name}: ${extra} at once already; a new one was turned away`;
      case Event.TargetFailed:
        return `${name}: the tunnel address did not take the connection (${
          describeErrno(errno)
        }); the client got a reset`;
      case Event.AssociateUnreachable:
        return `${name}: a UDP ASSOCIATE client sent a datagram the tunnel does not route (${
          describeErrno(errno)
        }); it was dropped`;
      case Event.Unresolved:
        return `${name}: a datagram came before the name was resolved in the cage; it was dropped`;
      case Event.SteerTimeout:
        return extra === 0
          ? `${name}: a client sent no complete request within 10 s; it was reset`
          : `${name}: a connection through the tunnel did not complete in time; the client was reset`;
      case Event.UdpRefused:
        return `${name}: nothing listens on UDP port ${extra} in the cage (port unreachable)`;
      case Event.Reset:
        return `${name}: a relayed connection was reset${
          errno ? ` (${describeErrno(errno)})` : ""
        }`;
      case Event.Socket:
        return `${name}: cannot make a socket for a new connection (${describeErrno(errno)})`;
      case Event.CageListening: {
        const s = this.#plan.hostServices[rule - this.#plan.publish.length];
        const host = s ? `${formatHostAddress(s.hostAddress)}:${s.hostPort}` : "the host";
        return `${host} is reachable in the cage at 127.0.0.1:${extra} (${HOST_SERVICE_NAME}:${extra})`;
      }
      default:
        return `${name}: event ${kind} (errno ${errno})`;
    }
  }

  /** Stops relaying and closes every socket; safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const fd of [...this.#hostFds, ...this.#listenFds]) {
      if (fd >= 0) this.#ffi.wgl_fd_close(fd);
    }
    this.#hostFds = [];
    this.#listenFds = [];
    if (this.#handle >= 0) this.#ffi.wgl_forward_close(this.#handle);
    this.#handle = -1;
    await this.#events;
    await this.#steering?.ended;
  }
}
