/**
 * Why no handshake completed, told apart for the one line of the timeout
 * error:
 *
 * - **port unreachable**: the endpoint's host answered with ICMP (nothing
 *   listens on that UDP port). The data path's socket is not connected and
 *   hears no ICMP, so a probe asks (launcher/udp_probe.c); when every
 *   endpoint is refused, the wait ends at once instead of at the timeout.
 * - **did not authenticate**: a handshake message came back and the core
 *   dropped it for failing its MAC or its decryption (the drop reasons
 *   `handshake_failed`, `bad_mac1`): the PresharedKey differs, or the keys
 *   do not pair up.
 * - **no answer**: neither. The endpoint may be wrong or filtered, or the
 *   peer dropped our initiations: WireGuard answers nothing to an
 *   initiation made for another public key, or from one it does not know,
 *   so a wrong PublicKey on either side looks like this too.
 *
 * The probe waits {@linkcode PROBE_AFTER_MS} first: a handshake with a
 * reachable peer is usually done by then, and a run pays nothing for it.
 *
 * @module
 */

import type { ResolvedEndpoint } from "../config/endpoint.ts";
import { describeErrno, ECONNREFUSED } from "../launcher/errno.ts";

/** Without a handshake this long after the wait began, the endpoints are probed. */
export const PROBE_AFTER_MS = 300;
/** How long a probe waits for an ICMP error. */
export const PROBE_TIMEOUT_MS = 1000;

/** Drop reasons of a handshake message that came back and did not authenticate. */
const AUTH_REASONS = ["handshake_failed", "bad_mac1"] as const;

/** One peer the handshake was tried with. */
export interface HandshakeTarget {
  /** `ADDR:PORT (peer abcd…)`, as the message shows it. */
  readonly label: string;
  readonly endpoint: ResolvedEndpoint;
}

/**
 * What a probe of one endpoint found: 0 for nothing, a positive errno for
 * an ICMP error (ECONNREFUSED: port unreachable), a negative one when the
 * probe could not be made.
 */
export type Probe = (endpoint: ResolvedEndpoint, timeoutMs: number) => Promise<number>;

/** What is known when the wait ends. */
export interface HandshakeFindings {
  readonly targets: readonly HandshakeTarget[];
  /** Per target: its probe's result, or undefined when it has none (yet). */
  readonly icmp: readonly (number | undefined)[];
  /** Handshake messages that came back and failed to authenticate. */
  readonly unauthenticated: number;
}

export class HandshakeDiagnosis {
  readonly #targets: readonly HandshakeTarget[];
  readonly #probe: Probe;
  /** The tunnel's drops by reason, all since it opened (it waits for its first handshake). */
  readonly #drops: () => Record<string, number>;
  readonly #icmp: (number | undefined)[];
  /** Monotonic ms at which the endpoints are probed; Infinity once done. */
  probeAt: number;

  constructor(o: {
    targets: readonly HandshakeTarget[];
    probe: Probe;
    drops: () => Record<string, number>;
    now: number;
  }) {
    this.#targets = o.targets;
    this.#probe = o.probe;
    this.#drops = o.drops;
    this.#icmp = o.targets.map(() => undefined);
    this.probeAt = o.now + PROBE_AFTER_MS;
  }

  /**
   * Probes the endpoints once `now` reached {@linkcode probeAt}. `onRefused`
   * is called when every endpoint turned out refused (the wait can end).
   */
  tick(now: number, onRefused: () => void): void {
    if (now < this.probeAt) return;
    this.probeAt = Infinity;
    const probes = this.#targets.map((t, i) =>
      this.#probe(t.endpoint, PROBE_TIMEOUT_MS).then(
        (r) => this.#icmp[i] = r,
        () => this.#icmp[i] = -1,
      )
    );
    Promise.all(probes).then(() => {
      if (this.#targets.length > 0 && this.#icmp.every((r) => r === ECONNREFUSED)) onRefused();
    });
  }

  findings(): HandshakeFindings {
    return {
      targets: this.#targets,
      icmp: [...this.#icmp],
      unauthenticated: authDrops(this.#drops()),
    };
  }
}

function authDrops(byReason: Record<string, number>): number {
  return AUTH_REASONS.reduce((n, r) => n + (byReason[r] ?? 0), 0);
}

/**
 * The one line for a handshake that did not complete (without `wgcage: `):
 * what came back, and the fix for that case. `ourKey` is our public key,
 * which the peer must know; `timeoutS` the wait that ran out (undefined when
 * the wait ended early, every endpoint refused).
 *
 * @example
 * ```ts
 * import { handshakeFailureMessage } from "./handshake_diagnosis.ts";
 * const endpoint = { family: 4 as const, port: 51820, scopeId: 0, address: new Uint8Array([127, 0, 0, 1]) };
 * handshakeFailureMessage(
 *   { targets: [{ label: "127.0.0.1:51820 (peer AbCd…)", endpoint }], icmp: [111], unauthenticated: 0 },
 *   undefined,
 *   "KEY=",
 * ).startsWith("No handshake with 127.0.0.1:51820 (peer AbCd…): port unreachable"); // true
 * ```
 */
export function handshakeFailureMessage(
  f: HandshakeFindings,
  timeoutS: number | undefined,
  ourKey: string,
): string {
  const within = timeoutS === undefined ? "" : ` within ${timeoutS} s`;
  const longer = "; wait longer with --handshake-timeout";
  const refused = f.targets.filter((_, i) => f.icmp[i] === ECONNREFUSED);
  const icmpOther = f.targets
    .map((t, i) => ({ t, e: f.icmp[i] ?? 0 }))
    .filter(({ e }) => e > 0 && e !== ECONNREFUSED);
  const everyone = f.targets.map((t) => t.label).join(", ");
  if (refused.length === f.targets.length && refused.length > 0) {
    const ports = [...new Set(refused.map((t) => t.endpoint.port))].join(", ");
    return `No handshake with ${everyone}: port unreachable (ICMP): nothing listens on UDP ` +
      `port ${ports} there; check the Endpoint's port and that the peer's WireGuard is up`;
  }
  if (f.unauthenticated > 0) {
    return `No handshake with ${everyone}${within}: the peer answered, but its handshake ` +
      `did not authenticate (${f.unauthenticated} dropped); check that the PresharedKey is ` +
      `the peer's, and that the keys pair up (our public key is ${ourKey})`;
  }
  const notes: string[] = [];
  for (const t of refused) notes.push(`${t.label}: port unreachable (ICMP)`);
  for (const { t, e } of icmpOther) notes.push(`${t.label}: ${describeErrno(e)} (ICMP)`);
  const heard = notes.length > 0 ? ` (${notes.join("; ")})` : "";
  return `No handshake with ${everyone}${within}: no answer${heard}; check that the endpoint ` +
    "is right and that UDP reaches it (a firewall may drop it), and the keys: a peer answers " +
    "nothing to an initiation made for another public key, or from one it does not know " +
    `(ours is ${ourKey})${longer}`;
}
