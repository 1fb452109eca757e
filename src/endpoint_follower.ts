/**
 * Endpoints that move: a peer whose Endpoint is a host name is looked up again
 * when handshakes to it go unanswered, so a peer whose address changed
 * (dynamic DNS, a server moved) is reached again without restarting the
 * command.
 *
 * Driven by the core's events, in the data path's turn:
 *
 * - `HandshakeSent` starts a failure, unless one is under way; a retry
 *   (`a = 1`) means an initiation went unanswered for REKEY_TIMEOUT. At a
 *   retry the follower moves on: to the name's next address when it has
 *   several (v6 and v4, in the resolver's order), and, once the failure has
 *   lasted {@linkcode RERESOLVE_AFTER_MS}, by looking the name up again, at
 *   most every {@linkcode RERESOLVE_EVERY_MS}.
 * - `SessionStarted` ends the failure.
 *
 * A lookup runs in the background; its answer is applied on a later turn
 * ({@linkcode EndpointFollower.applyPending}), so the core is only touched
 * from the data path. A new address gets an initiation at once while the
 * failure is younger than REKEY_ATTEMPT_TIME; later the core's own attempts
 * (which stop after 90 s until there is traffic) carry it.
 *
 * @module
 */

import type { EndpointSpec } from "./config/types.ts";
import { formatEndpoint, type ResolvedEndpoint } from "./config/endpoint.ts";

/** Whitepaper §6.1: an initiation unanswered this long is sent again. */
export const REKEY_TIMEOUT_MS = 5_000;
/** Whitepaper §6.1: the core gives up on a series of attempts after this. */
export const REKEY_ATTEMPT_TIME_MS = 90_000;
/** How long handshakes fail before the name is looked up again. */
export const RERESOLVE_AFTER_MS = 2 * REKEY_TIMEOUT_MS;
/** The shortest time between two lookups of one name. */
export const RERESOLVE_EVERY_MS = 5_000;

/** What the follower changes in the tunnel. */
export interface FollowerHost {
  /** Monotonic ms. */
  now(): number;
  /** Every address of the name, as {@linkcode resolveEndpointAll} gives them. */
  lookup(spec: EndpointSpec): Promise<ResolvedEndpoint[]>;
  /** The peer's endpoint as the core has it (it moves when the peer roams). */
  current(peer: number): ResolvedEndpoint | undefined;
  /** Sets the peer's endpoint; with `initiate`, a handshake starts at once. */
  move(peer: number, to: ResolvedEndpoint, initiate: boolean): void;
  /** Asks for a turn of the data path soon (a lookup finished). */
  wake(): void;
  /** `-v` lines. */
  log?: (line: string) => void;
}

interface Followed {
  readonly peer: number;
  readonly who: string;
  readonly spec: EndpointSpec;
  addresses: ResolvedEndpoint[];
  /** Monotonic ms when the current failure began, if one is under way. */
  failingSince: number | undefined;
  lastLookup: number;
  lookingUp: boolean;
  /** A finished lookup, to apply on the next turn. */
  answer: ResolvedEndpoint[] | undefined;
}

function same(a: ResolvedEndpoint, b: ResolvedEndpoint): boolean {
  return a.family === b.family && a.port === b.port && a.scopeId === b.scopeId &&
    a.address.length === b.address.length && a.address.every((byte, i) => byte === b.address[i]);
}

function list(addresses: readonly ResolvedEndpoint[]): string {
  return addresses.map(formatEndpoint).join(", ");
}

export class EndpointFollower {
  readonly #host: FollowerHost;
  readonly #peers = new Map<number, Followed>();

  constructor(host: FollowerHost) {
    this.#host = host;
  }

  /**
   * Follows `peer`, whose endpoint `spec` names a host that resolved to
   * `addresses` (the first is in use). `who` names the peer in log lines.
   */
  follow(peer: number, who: string, spec: EndpointSpec, addresses: ResolvedEndpoint[]): void {
    this.#peers.set(peer, {
      peer,
      who,
      spec,
      addresses,
      failingSince: undefined,
      lastLookup: this.#host.now(),
      lookingUp: false,
      answer: undefined,
    });
  }

  /**
   * `peer` was removed from the device: its id may soon name another peer,
   * whose endpoint must never be moved to this one's name (a lookup still
   * under way is dropped with it).
   */
  forget(peer: number): void {
    this.#peers.delete(peer);
  }

  /** Whether any peer is followed. */
  get following(): boolean {
    return this.#peers.size > 0;
  }

  /** The core sent an initiation to `peer`; `retry` when the last went unanswered. */
  handshakeSent(peer: number, retry: boolean): void {
    const f = this.#peers.get(peer);
    if (f === undefined) return;
    const now = this.#host.now();
    f.failingSince ??= now;
    if (!retry || f.lookingUp) return;
    if (now - f.failingSince >= RERESOLVE_AFTER_MS && now - f.lastLookup >= RERESOLVE_EVERY_MS) {
      this.#lookUp(f, now);
    } else if (f.addresses.length > 1) {
      this.#moveOn(f, f.addresses, now, "next address");
    }
  }

  /** A handshake with `peer` completed. */
  sessionStarted(peer: number): void {
    const f = this.#peers.get(peer);
    if (f !== undefined) f.failingSince = undefined;
  }

  /** Applies lookups that finished since the last turn. */
  applyPending(): void {
    for (const f of this.#peers.values()) {
      const answer = f.answer;
      if (answer === undefined) continue;
      f.answer = undefined;
      if (f.failingSince === undefined) continue; // a handshake came through meanwhile
      this.#moveOn(f, answer, this.#host.now(), "lookup");
    }
  }

  #lookUp(f: Followed, now: number): void {
    f.lookingUp = true;
    f.lastLookup = now;
    const name = formatEndpoint(f.spec);
    this.#host.log?.(
      `${f.who}: no handshake for ${
        ((now - (f.failingSince ?? now)) / 1000).toFixed(0)
      } s; looking up ${name} again`,
    );
    this.#host.lookup(f.spec).then(
      (addresses) => {
        f.answer = addresses;
      },
      (e: unknown) => {
        const why = e instanceof Error ? e.message.replace(/^wgcage: /, "") : String(e);
        this.#host.log?.(`${f.who}: ${why}; trying again later`);
      },
    ).finally(() => {
      f.lookingUp = false;
      this.#host.wake();
    });
  }

  /**
   * Moves to the address after the current one in `addresses` (the first
   * when the current one is not among them: the name moved).
   */
  #moveOn(f: Followed, addresses: ResolvedEndpoint[], now: number, why: string): void {
    const changed = addresses.length !== f.addresses.length ||
      addresses.some((a, i) => !same(a, f.addresses[i]));
    f.addresses = addresses;
    const current = this.#host.current(f.peer);
    const at = current === undefined ? -1 : addresses.findIndex((a) => same(a, current));
    const next = addresses[(at + 1) % addresses.length];
    const name = formatEndpoint(f.spec);
    if (current !== undefined && same(next, current)) {
      if (why === "lookup") {
        this.#host.log?.(`${f.who}: ${name} still resolves to ${list(addresses)}; waiting`);
      }
      return;
    }
    const initiate = now - (f.failingSince ?? now) < REKEY_ATTEMPT_TIME_MS;
    this.#host.log?.(
      `${f.who}: ${
        why === "lookup" && changed
          ? `${name} now resolves to ${list(addresses)}`
          : `${name} did not answer at ${current ? formatEndpoint(current) : "its address"}`
      }; trying ${formatEndpoint(next)}`,
    );
    this.#host.move(f.peer, next, initiate);
  }
}
