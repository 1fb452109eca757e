/**
 * `--socks`: a SOCKS5 proxy (RFC 1928) whose every connection is made inside
 * the cage. CONNECT and UDP ASSOCIATE (relayed in launcher/forward.c); a
 * domain name, of a CONNECT or a datagram, is resolved with the cage's DNS,
 * never on the host (socks5h); a destination the tunnel does not route gets
 * the SOCKS error the cage's kernel gives (network unreachable), never a
 * host connection. Optional username and password (RFC 1929).
 *
 * The client's bytes arrive whole from the first (the relay holds them), so
 * parsing is a pure function of them: {@linkcode parseSocks}.
 *
 * @module
 */

import type { IpAddress } from "../config/ip.ts";
import { describeErrno } from "../launcher/errno.ts";
import { isDnsName } from "./spec.ts";
import type { SteeredConnection, SteerSession } from "./steering.ts";

/** RFC 1928 §6 reply codes. */
export const Reply = {
  Succeeded: 0,
  GeneralFailure: 1,
  NotAllowed: 2,
  NetworkUnreachable: 3,
  HostUnreachable: 4,
  ConnectionRefused: 5,
  TtlExpired: 6,
  CommandNotSupported: 7,
  AddressTypeNotSupported: 8,
} as const;

/** A username and password the proxy asks for. */
export interface SocksCredentials {
  readonly username: Uint8Array;
  readonly password: Uint8Array;
}

/** Where a CONNECT goes. */
export type SocksTarget =
  | { readonly kind: "address"; readonly address: IpAddress }
  | { readonly kind: "name"; readonly name: string };

/** What the bytes so far call for. */
export type SocksStep =
  /** Wait for more bytes. */
  | { readonly kind: "more" }
  /** Send `reply` and wait for more. */
  | { readonly kind: "answer"; readonly reply: Uint8Array; readonly stage: SocksStage }
  /** Send `reply` (if any) and close; `why` for -v. */
  | { readonly kind: "refuse"; readonly reply?: Uint8Array; readonly why: string }
  /** A UDP ASSOCIATE; `port`: the UDP port the client will send from, or 0. */
  | { readonly kind: "associate"; readonly port: number }
  /** A CONNECT request, `consumed` bytes long counted from the first. */
  | {
    readonly kind: "connect";
    readonly target: SocksTarget;
    readonly port: number;
    readonly consumed: number;
  };

/** How far the handshake got: where the next message starts, and what it is. */
export interface SocksStage {
  readonly at: number;
  readonly expect: "greeting" | "auth" | "request";
}

export const FIRST_STAGE: SocksStage = { at: 0, expect: "greeting" };

const VERSION = 5;
const AUTH_VERSION = 1;
const METHOD_NONE = 0;
const METHOD_PASSWORD = 2;
const METHOD_REFUSED = 0xff;

/** A reply to a request, with an unspecified bound address (0.0.0.0:0). */
export function socksReply(code: number): Uint8Array {
  return new Uint8Array([VERSION, code, 0, 1, 0, 0, 0, 0, 0, 0]);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  // Constant time in the content: a wrong password takes as long as a right one.
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/**
 * The next step of the handshake, from all the client's bytes and the
 * stage reached.
 *
 * @example
 * ```ts
 * import { FIRST_STAGE, parseSocks } from "./socks.ts";
 * parseSocks(new Uint8Array([5, 1, 0]), FIRST_STAGE, undefined).kind; // "answer"
 * ```
 */
export function parseSocks(
  b: Uint8Array,
  stage: SocksStage,
  credentials: SocksCredentials | undefined,
): SocksStep {
  const at = stage.at;
  const have = b.length - at;
  if (have < 2) return { kind: "more" };
  if (stage.expect === "greeting") {
    if (b[at] !== VERSION) {
      return { kind: "refuse", why: `not a SOCKS5 greeting (version byte ${b[at]})` };
    }
    const count = b[at + 1];
    if (count === 0) {
      return {
        kind: "refuse",
        reply: new Uint8Array([VERSION, METHOD_REFUSED]),
        why: "no method offered",
      };
    }
    if (have < 2 + count) return { kind: "more" };
    const methods = b.subarray(at + 2, at + 2 + count);
    const want = credentials ? METHOD_PASSWORD : METHOD_NONE;
    if (!methods.includes(want)) {
      return {
        kind: "refuse",
        reply: new Uint8Array([VERSION, METHOD_REFUSED]),
        why: credentials
          ? "the client offered no username/password authentication"
          : "the client offered no method without authentication",
      };
    }
    return {
      kind: "answer",
      reply: new Uint8Array([VERSION, want]),
      stage: { at: at + 2 + count, expect: credentials ? "auth" : "request" },
    };
  }
  if (stage.expect === "auth") {
    if (b[at] !== AUTH_VERSION) {
      return { kind: "refuse", reply: new Uint8Array([AUTH_VERSION, 1]), why: "a malformed login" };
    }
    const ulen = b[at + 1];
    if (have < 2 + ulen + 1) return { kind: "more" };
    const plen = b[at + 2 + ulen];
    if (have < 3 + ulen + plen) return { kind: "more" };
    const user = b.subarray(at + 2, at + 2 + ulen);
    const pass = b.subarray(at + 3 + ulen, at + 3 + ulen + plen);
    // Both compared, always: which one was wrong does not show in the time.
    const userOk = sameBytes(user, credentials!.username);
    const passOk = sameBytes(pass, credentials!.password);
    if (!(userOk && passOk)) {
      return {
        kind: "refuse",
        reply: new Uint8Array([AUTH_VERSION, 1]),
        why: "a wrong username or password",
      };
    }
    return {
      kind: "answer",
      reply: new Uint8Array([AUTH_VERSION, 0]),
      stage: { at: at + 3 + ulen + plen, expect: "request" },
    };
  }
  // The request: VER CMD RSV ATYP DST.ADDR DST.PORT.
  if (have < 5) return { kind: "more" };
  if (b[at] !== VERSION) return { kind: "refuse", why: `a request of version ${b[at]}` };
  const command = b[at + 1];
  const atyp = b[at + 3];
  let addrEnd: number;
  if (atyp === 1) addrEnd = at + 4 + 4;
  else if (atyp === 4) addrEnd = at + 4 + 16;
  else if (atyp === 3) addrEnd = at + 5 + b[at + 4];
  else {
    return {
      kind: "refuse",
      reply: socksReply(Reply.AddressTypeNotSupported),
      why: `address type ${atyp}`,
    };
  }
  if (b.length < addrEnd + 2) return { kind: "more" };
  const port = (b[addrEnd] << 8) | b[addrEnd + 1];
  if (command === 3) return { kind: "associate", port };
  if (command !== 1) {
    return {
      kind: "refuse",
      reply: socksReply(Reply.CommandNotSupported),
      why: command === 2 ? "BIND is not supported" : `command ${command}`,
    };
  }
  const consumed = addrEnd + 2;
  if (atyp !== 3) {
    const bytes = b.slice(at + 4, addrEnd);
    return {
      kind: "connect",
      target: { kind: "address", address: { family: atyp === 1 ? 4 : 6, bytes } },
      port,
      consumed,
    };
  }
  const raw = b.subarray(at + 5, addrEnd);
  const name = new TextDecoder("latin1").decode(raw);
  if (!isDnsName(name)) {
    return {
      kind: "refuse",
      reply: socksReply(Reply.HostUnreachable),
      why: `'${name.slice(0, 64).replace(/[^\x20-\x7e]/g, "?")}${
        name.length > 64 ? "…" : ""
      }' is not a host name`,
    };
  }
  return { kind: "connect", target: { kind: "name", name: name.toLowerCase() }, port, consumed };
}

/** The SOCKS reply for a connection that failed with `errno`. */
export function replyForErrno(errno: number): number {
  switch (errno) {
    case 101: // ENETUNREACH: the tunnel does not route it
      return Reply.NetworkUnreachable;
    case 113: // EHOSTUNREACH
    case 110: // ETIMEDOUT
      return Reply.HostUnreachable;
    case 111: // ECONNREFUSED
      return Reply.ConnectionRefused;
    default:
      return Reply.GeneralFailure;
  }
}

/** What a proxy session needs from its surroundings. */
export interface ProxyContext {
  /** The cage's resolver (names are never looked up on the host). */
  resolve(name: string): Promise<IpAddress[]>;
  /** -v, or nothing. */
  log?: (line: string) => void;
}

/** The session of one SOCKS client. */
export function socksSession(
  c: SteeredConnection,
  ctx: ProxyContext,
  credentials: SocksCredentials | undefined,
): SteerSession {
  let stage = FIRST_STAGE;
  let busy = false;
  let target = "";
  const refuse = (why: string, reply?: Uint8Array) => {
    ctx.log?.(`--socks: refused a client: ${why}`);
    c.close(reply);
  };
  return {
    data(held) {
      if (busy) return;
      for (;;) {
        const step = parseSocks(held, stage, credentials);
        if (step.kind === "more") return;
        if (step.kind === "refuse") return refuse(step.why, step.reply);
        if (step.kind === "answer") {
          c.write(step.reply);
          stage = step.stage;
          continue;
        }
        busy = true;
        if (step.kind === "associate") {
          target = "a UDP association";
          c.associate(step.port);
          return;
        }
        const { port, consumed } = step;
        if (step.target.kind === "address") {
          target = `${step.target.address.family === 6 ? "IPv6" : "IPv4"} address, port ${port}`;
          c.connect(step.target.address, port, { consumed, reply: socksReply(Reply.Succeeded) });
          return;
        }
        const name = step.target.name;
        target = `${name}:${port}`;
        ctx.resolve(name).then(
          (addresses) =>
            c.connect(addresses[0], port, { consumed, reply: socksReply(Reply.Succeeded) }),
          (e: Error) =>
            refuse(`cannot resolve ${e.message} in the cage`, socksReply(Reply.HostUnreachable)),
        );
        return;
      }
    },
    resolveName(held, entry) {
      const at = entry * 256;
      const len = held[at] ?? 0;
      const name = new TextDecoder("latin1").decode(held.subarray(at + 1, at + 1 + len));
      if (len === 0 || at + 1 + len > held.length || !isDnsName(name)) {
        ctx.log?.("--socks: a UDP datagram to something that is not a host name was dropped");
        c.mapName(entry, undefined);
        return;
      }
      ctx.resolve(name).then(
        (addresses) => c.mapName(entry, addresses[0]),
        (e: Error) => {
          ctx.log?.(`--socks: cannot resolve ${e.message} in the cage for a UDP datagram`);
          c.mapName(entry, undefined);
        },
      );
    },
    failed(errno) {
      refuse(
        target === "a UDP association"
          ? `cannot set up a UDP association: ${describeErrno(errno)}`
          : `cannot connect to ${target} through the tunnel: ${describeErrno(errno)}`,
        socksReply(target === "a UDP association" ? Reply.GeneralFailure : replyForErrno(errno)),
      );
    },
  };
}
