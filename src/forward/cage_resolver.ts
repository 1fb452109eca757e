/**
 * Names resolved inside the cage, never on the host: each query goes from a
 * UDP socket the cage's socket service made, to the cage's DNS servers (the
 * config's `DNS =`, else the servers of the cage's resolv.conf), so it
 * leaves only through the tunnel. A server the tunnel does not route fails
 * at once (the cage has no other route); it is never asked from the host.
 *
 * @module
 */

import { type IpAddress, parseIp } from "../config/ip.ts";
import type { LauncherSymbols } from "../launcher/library.ts";
import { describeErrno, ETIMEDOUT } from "../launcher/errno.ts";
import { encodeQuery, parseAnswer, TYPE_A, TYPE_AAAA } from "./dns_query.ts";
import { isLocalResolver, nameserverOf } from "../dns/resolv_conf.ts";
import type { Steering } from "./steering.ts";

/** One try at one server. */
const TRY_MS = 2000;
const ANSWER_BYTES = 4096;
/**
 * Queries in flight at once. Each holds a thread of Deno's blocking pool for
 * up to TRY_MS; a flood of proxy requests naming hosts queues here instead
 * of taking hundreds of threads.
 */
const IN_FLIGHT_MAX = 16;

/** A name that did not resolve, with the reason in its message. */
export class ResolveError extends Error {
  override name = "ResolveError";
}

/**
 * The `nameserver` lines of a resolv.conf, but those on loopback: the
 * cage's resolv.conf comments the host's loopback resolvers out (they are
 * unreachable from the cage), and asked from the cage, such an address is
 * the cage's own loopback, where the command could answer for them.
 */
export function resolvConfServers(text: string): IpAddress[] {
  const out: IpAddress[] = [];
  for (const line of text.split("\n")) {
    const named = nameserverOf(line);
    if (named === undefined) continue;
    let server: IpAddress;
    try {
      server = parseIp(named.replace(/%.*$/, ""));
    } catch {
      continue; // not an address: the cage's resolver would skip it too
    }
    // The cage's resolv.conf's own rule, so that both leave out the same lines.
    if (!isLocalResolver(named)) out.push(server);
  }
  return out;
}

/**
 * Whether an answer would lead to the cage's own loopback (where the
 * command's and the host services' listeners are) rather than through the
 * tunnel: a DNS server in the tunnel must not be able to point a proxy's
 * client there (DNS rebinding). An address given as such still goes.
 */
export function leadsIntoTheCage(a: IpAddress): boolean {
  const b = a.bytes;
  if (a.family === 4) return b[0] === 127 || b[0] === 0;
  const zeros = b.subarray(0, 15).every((x) => x === 0);
  if (zeros && (b[15] === 0 || b[15] === 1)) return true;
  const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  return mapped && (b[12] === 127 || b[12] === 0);
}

/** Whether `a` is one of `own` (the cage's tunnel addresses), also as a v4-mapped v6 address. */
export function isOwnAddress(a: IpAddress, own: readonly IpAddress[]): boolean {
  const b = a.bytes;
  const mapped = a.family === 6 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff &&
    b[11] === 0xff;
  const v4 = mapped ? b.subarray(12) : undefined;
  return own.some((o) =>
    (o.family === a.family && o.bytes.every((x, i) => x === b[i])) ||
    (v4 !== undefined && o.family === 4 && o.bytes.every((x, i) => x === v4[i]))
  );
}

export class CageResolver {
  readonly #ffi: LauncherSymbols;
  readonly #steering: Steering;
  readonly #servers: readonly IpAddress[];
  readonly #own: readonly IpAddress[];
  #inFlight = 0;
  readonly #waiting: (() => void)[] = [];

  /**
   * `own`: the cage's tunnel addresses, where the command's servers on
   * 0.0.0.0 or :: listen as well as on its loopback: an answer naming only
   * them is refused as one naming the loopback is.
   */
  constructor(
    ffi: LauncherSymbols,
    steering: Steering,
    servers: readonly IpAddress[],
    own: readonly IpAddress[] = [],
  ) {
    this.#ffi = ffi;
    this.#steering = steering;
    this.#servers = servers;
    this.#own = own;
  }

  /** The addresses of `name`, IPv4 first. Throws a {@linkcode ResolveError}. */
  async resolve(name: string): Promise<IpAddress[]> {
    if (this.#servers.length === 0) {
      throw new ResolveError("the cage has no DNS server; give one with DNS = in the config");
    }
    let why = "";
    for (const type of [TYPE_A, TYPE_AAAA]) {
      for (const server of this.#servers) {
        try {
          const addresses = await this.#ask(server, name, type);
          if (addresses === undefined) {
            why = "no such name";
            break; // NXDOMAIN: another server would say the same
          }
          const usable = addresses.filter((a) =>
            !leadsIntoTheCage(a) && !isOwnAddress(a, this.#own)
          );
          if (usable.length > 0) return usable;
          why ||= addresses.length > 0
            ? "it resolves only to a loopback or unspecified address or to the cage's own (the cage itself)"
            : "no address";
        } catch (e) {
          why = (e as Error).message;
        }
      }
    }
    throw new ResolveError(`${name}: ${why}`);
  }

  /** One question to one server: its addresses, or undefined for NXDOMAIN. */
  async #ask(server: IpAddress, name: string, type: number): Promise<IpAddress[] | undefined> {
    while (this.#inFlight >= IN_FLIGHT_MAX) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#inFlight++;
    try {
      return await this.#askNow(server, name, type);
    } finally {
      this.#inFlight--;
      this.#waiting.shift()?.();
    }
  }

  async #askNow(server: IpAddress, name: string, type: number): Promise<IpAddress[] | undefined> {
    const id = crypto.getRandomValues(new Uint16Array(1))[0];
    const query = encodeQuery(id, name, type);
    const fd = await this.#steering.cageSocket(server.family, "udp");
    try {
      const answer = new Uint8Array(ANSWER_BYTES);
      const n = await this.#ffi.wgl_forward_exchange(
        fd,
        server.family,
        server.bytes as Uint8Array<ArrayBuffer>,
        53,
        query as Uint8Array<ArrayBuffer>,
        query.length,
        answer,
        answer.length,
        TRY_MS,
      );
      if (n < 0) {
        throw new ResolveError(
          n === -ETIMEDOUT ? "the DNS server did not answer" : describeErrno(-n),
        );
      }
      if (n > answer.length) throw new ResolveError("the answer is too long for UDP");
      const parsed = parseAnswer(answer.subarray(0, n), id, name, type);
      if (parsed.kind === "rcode") {
        if (parsed.rcode === 3) return undefined;
        throw new ResolveError(`the DNS server answered rcode ${parsed.rcode}`);
      }
      return parsed.addresses;
    } finally {
      this.#ffi.wgl_fd_close(fd);
    }
  }
}
