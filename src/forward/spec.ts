/**
 * What crosses between the host and the cage on purpose, as the command line
 * says it:
 *
 *     -p [HOST_ADDR:]HOST_PORT:CAGE_PORT[/tcp|/udp]    a port of the cage, published on the host
 *     --host-service [HOST_ADDR:]PORT[=CAGE_PORT]      one TCP service of the host, reachable
 *                                                      in the cage at 127.0.0.1:CAGE_PORT
 *
 * HOST_ADDR is an IP address (IPv6 in brackets), 127.0.0.1 when left out.
 * Parsers throw a `TypeError` whose message is a short reason; the caller
 * says which option it came from.
 *
 * @module
 */

import { formatIp, type IpAddress, parseIp } from "../config/ip.ts";

/** A transport protocol a port is published for. */
export type Protocol = "tcp" | "udp";

/** `-p`: a port inside the cage, reachable on the host. */
export interface PublishSpec {
  readonly protocol: Protocol;
  /** Where wgcage listens on the host. */
  readonly hostAddress: IpAddress;
  readonly hostPort: number;
  /** The port on the cage's loopback each connection or flow goes to. */
  readonly cagePort: number;
}

/** `--host-service`: one TCP service of the host, reachable inside the cage. */
export interface HostServiceSpec {
  /** Where on the host wgcage connects. */
  readonly hostAddress: IpAddress;
  readonly hostPort: number;
  /** The port on the cage's 127.0.0.1 it is reached at. */
  readonly cagePort: number;
}

/** The host address of a spec that gives none. */
export const DEFAULT_HOST_ADDRESS: IpAddress = {
  family: 4,
  bytes: new Uint8Array([127, 0, 0, 1]),
};

/** The name host services are reached by in the cage (its /etc/hosts, 127.0.0.1). */
export const HOST_SERVICE_NAME = "host.wgcage.internal";

const PORT = /^[0-9]{1,5}$/;

function port(text: string, what: string): number {
  if (!PORT.test(text)) {
    throw new TypeError(text === "" ? `the ${what} is empty` : `'${text}' is not a ${what}`);
  }
  const n = Number(text);
  if (n < 1 || n > 65535) throw new TypeError(`${what} ${n} is out of range; give 1-65535`);
  return n;
}

function address(text: string): IpAddress {
  const inner = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (inner.includes(":") && inner === text) {
    throw new TypeError(`put the IPv6 address in brackets, e.g. [${text}]`);
  }
  if (!inner.includes(":") && text !== inner) {
    throw new TypeError(`'${text}': only an IPv6 address goes in brackets`);
  }
  try {
    return parseIp(inner);
  } catch (e) {
    throw new TypeError(
      `'${text}' is not an IP address (${
        (e as Error).message
      }); give one such as 127.0.0.1 or [::1]`,
    );
  }
}

/** Splits `[v6]:rest` or `v4:rest` from `rest`, or gives no address. */
function splitAddress(text: string, parts: number): { host?: string; rest: string[] } {
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) throw new TypeError("the '[' of an IPv6 address is not closed");
    if (text[close + 1] !== ":") throw new TypeError("a ':' must follow the ']'");
    return { host: text.slice(0, close + 1), rest: text.slice(close + 2).split(":") };
  }
  const fields = text.split(":");
  if (fields.length === parts + 1) return { host: fields[0], rest: fields.slice(1) };
  return { rest: fields };
}

/** Formats an address for messages: IPv6 in brackets. */
export function formatHostAddress(a: IpAddress): string {
  return a.family === 6 ? `[${formatIp(a.bytes)}]` : formatIp(a.bytes);
}

/** A spec's `/tcp` or `/udp` suffix (tcp without one) and what comes before it. */
function splitProtocol(text: string): { protocol: Protocol; body: string } {
  const slash = text.lastIndexOf("/");
  if (slash < 0) return { protocol: "tcp", body: text };
  const name = text.slice(slash + 1).toLowerCase();
  if (name !== "tcp" && name !== "udp") {
    throw new TypeError(`protocol '${text.slice(slash + 1)}' is not tcp or udp`);
  }
  return { protocol: name, body: text.slice(0, slash) };
}

/**
 * Parses a `-p` value. Throws a `TypeError` with a short reason.
 *
 * @example
 * ```ts
 * import { parsePublish } from "./spec.ts";
 * const p = parsePublish("8080:80/udp");
 * [p.protocol, p.hostPort, p.cagePort]; // ["udp", 8080, 80]
 * ```
 */
export function parsePublish(text: string): PublishSpec {
  const { protocol, body } = splitProtocol(text);
  const { host, rest } = splitAddress(body, 2);
  if (rest.length !== 2) {
    throw new TypeError(
      rest.length < 2
        ? "give both ports, HOST_PORT:CAGE_PORT"
        : "too many ':'; an IPv6 address goes in brackets, e.g. [::1]:8080:80",
    );
  }
  return {
    protocol,
    hostAddress: host === undefined ? DEFAULT_HOST_ADDRESS : address(host),
    hostPort: port(rest[0], "host port"),
    cagePort: port(rest[1], "cage port"),
  };
}

/**
 * Parses a `--host-service` value. Throws a `TypeError` with a short reason.
 *
 * @example
 * ```ts
 * import { parseHostService } from "./spec.ts";
 * const s = parseHostService("127.0.0.1:5432=15432");
 * [s.hostPort, s.cagePort]; // [5432, 15432]
 * ```
 */
export function parseHostService(text: string): HostServiceSpec {
  const equals = text.indexOf("=");
  const where = equals < 0 ? text : text.slice(0, equals);
  const { host, rest } = splitAddress(where, 1);
  if (rest.length !== 1) {
    throw new TypeError("too many ':'; an IPv6 address goes in brackets, e.g. [::1]:5432");
  }
  const hostPort = port(rest[0], "host port");
  return {
    hostAddress: host === undefined ? DEFAULT_HOST_ADDRESS : address(host),
    hostPort,
    cagePort: equals < 0 ? hostPort : port(text.slice(equals + 1), "cage port"),
  };
}

/** `-p`'s canonical text, e.g. `127.0.0.1:8080:80/tcp`. */
export function formatPublish(p: PublishSpec): string {
  return `${formatHostAddress(p.hostAddress)}:${p.hostPort}:${p.cagePort}/${p.protocol}`;
}

/** `--host-service`'s canonical text, e.g. `127.0.0.1:5432=5432`. */
export function formatHostService(s: HostServiceSpec): string {
  return `${formatHostAddress(s.hostAddress)}:${s.hostPort}=${s.cagePort}`;
}

/**
 * What a set of specs cannot be together, as a short reason, or undefined:
 * a host address and port published twice for one protocol, two host
 * services on one cage port, or a cage port that is both published and a
 * host service's (a connection would go round in a circle).
 */
export function conflictOf(
  publish: readonly PublishSpec[],
  services: readonly HostServiceSpec[],
): string | undefined {
  const hostSide = new Set<string>();
  for (const p of publish) {
    const key = `${formatHostAddress(p.hostAddress)}:${p.hostPort}/${p.protocol}`;
    if (hostSide.has(key)) return `-p ${key} is given twice; publish each host port once`;
    hostSide.add(key);
  }
  const cagePorts = new Set<number>();
  for (const s of services) {
    if (cagePorts.has(s.cagePort)) {
      return `two --host-service options use cage port ${s.cagePort}; give one another with =CAGE_PORT`;
    }
    cagePorts.add(s.cagePort);
    if (publish.some((p) => p.protocol === "tcp" && p.cagePort === s.cagePort)) {
      return `cage port ${s.cagePort} is both published with -p and a --host-service's; ` +
        "give the host service another with =CAGE_PORT";
    }
  }
  return undefined;
}

/** Where a local forward leads: an address, or a name the cage resolves. */
export type TunnelHost =
  | { readonly kind: "address"; readonly address: IpAddress }
  | { readonly kind: "name"; readonly name: string };

/** `-L`: a host port whose connections or flows go to an address through the tunnel. */
export interface LocalForwardSpec {
  readonly protocol: Protocol;
  /** Where wgcage listens on the host. */
  readonly hostAddress: IpAddress;
  readonly hostPort: number;
  /** Connected from inside the cage, so only through the tunnel. */
  readonly target: TunnelHost;
  readonly targetPort: number;
}

/** `--socks` and `--http-proxy`: where on the host a proxy listens. */
export interface ListenSpec {
  readonly hostAddress: IpAddress;
  readonly hostPort: number;
}

/** A DNS name as a resolver takes it: labels of 1-63 letters, digits, '-' or '_'. */
const NAME_LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** Whether `text` is a host name a DNS query can carry (RFC 1035 lengths). */
export function isDnsName(text: string): boolean {
  const name = text.endsWith(".") ? text.slice(0, -1) : text;
  return name.length > 0 && name.length <= 253 && name.split(".").every((l) => NAME_LABEL.test(l));
}

/** Splits on ':' outside brackets. */
function fieldsOf(text: string): string[] {
  const fields: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "[") depth++;
    else if (text[i] === "]") depth--;
    else if (text[i] === ":" && depth === 0) {
      fields.push(text.slice(start, i));
      start = i + 1;
    }
    if (depth < 0 || depth > 1) throw new TypeError("the brackets do not match");
  }
  if (depth !== 0) throw new TypeError("the '[' of an IPv6 address is not closed");
  fields.push(text.slice(start));
  return fields;
}

function tunnelHost(text: string): TunnelHost {
  if (text === "") throw new TypeError("the tunnel host is empty");
  if (text.startsWith("[") || /^[0-9.]+$/.test(text) || text.includes(":")) {
    return { kind: "address", address: address(text) };
  }
  if (!isDnsName(text)) {
    throw new TypeError(`'${text}' is neither an IP address nor a host name`);
  }
  return { kind: "name", name: text.toLowerCase() };
}

/**
 * Parses a `-L` value, `[HOST_ADDR:]HOST_PORT:TUNNEL_HOST:PORT[/tcp|/udp]`.
 * Throws a `TypeError` with a short reason.
 *
 * @example
 * ```ts
 * import { parseLocalForward } from "./spec.ts";
 * const l = parseLocalForward("15432:db.internal:5432");
 * [l.hostPort, l.target.kind, l.targetPort]; // [15432, "name", 5432]
 * ```
 */
export function parseLocalForward(text: string): LocalForwardSpec {
  const { protocol, body } = splitProtocol(text);
  const fields = fieldsOf(body);
  if (fields.length !== 3 && fields.length !== 4) {
    throw new TypeError(
      fields.length < 3
        ? "give HOST_PORT:TUNNEL_HOST:PORT"
        : "too many ':'; an IPv6 address goes in brackets, e.g. 5432:[fd00::5]:5432",
    );
  }
  const host = fields.length === 4 ? fields[0] : undefined;
  const [hostPort, target, targetPort] = fields.slice(fields.length - 3);
  return {
    protocol,
    hostAddress: host === undefined ? DEFAULT_HOST_ADDRESS : address(host),
    hostPort: port(hostPort, "host port"),
    target: tunnelHost(target),
    targetPort: port(targetPort, "tunnel port"),
  };
}

/**
 * Parses a proxy's `[HOST_ADDR:]PORT`. Throws a `TypeError` with a short reason.
 *
 * @example
 * ```ts
 * import { parseListen } from "./spec.ts";
 * parseListen("1080").hostPort; // 1080
 * ```
 */
export function parseListen(text: string): ListenSpec {
  const { host, rest } = splitAddress(text, 1);
  if (rest.length !== 1) {
    throw new TypeError("too many ':'; an IPv6 address goes in brackets, e.g. [::1]:1080");
  }
  return {
    hostAddress: host === undefined ? DEFAULT_HOST_ADDRESS : address(host),
    hostPort: port(rest[0], "port"),
  };
}

/** Whether a host address is a loopback address (127.0.0.0/8, ::1). */
export function isLoopback(a: IpAddress): boolean {
  if (a.family === 4) return a.bytes[0] === 127;
  return a.bytes.every((b, i) => b === (i === 15 ? 1 : 0));
}

/** `-L`'s canonical text, e.g. `127.0.0.1:15432:db.internal:5432/tcp`. */
export function formatLocalForward(l: LocalForwardSpec): string {
  const target = l.target.kind === "name" ? l.target.name : formatHostAddress(l.target.address);
  return `${
    formatHostAddress(l.hostAddress)
  }:${l.hostPort}:${target}:${l.targetPort}/${l.protocol}`;
}
