/**
 * The numbers the WireGuard core speaks in, mirrored from
 * `wasm/src/messages.rs` (authoritative) and `wasm/README.md`.
 *
 * @module
 */

/** What the host does with a packet after a batch call (descriptor word 2). */
export const Op = {
  None: 0,
  Tun: 1,
  Network: 2,
} as const;
export type Op = typeof Op[keyof typeof Op];

/** Failures of core calls, returned as `-(code)`. */
export const CoreError = {
  InvalidArgument: 1,
  NoEntropy: 2,
  NoPrivateKey: 3,
  DhZero: 4,
  TooManyPeers: 5,
  NoSuchPeer: 6,
  DuplicatePeer: 7,
  BadPrefix: 8,
  AuthFailed: 9,
  OutOfMemory: 10,
  BufferTooSmall: 11,
} as const;
export type CoreError = typeof CoreError[keyof typeof CoreError];

/** Why a packet was dropped, or what consumed it (descriptor word 4). */
export const Reason = {
  Ok: 0,
  Malformed: 1,
  BadMac1: 2,
  CookieSent: 3,
  RateLimited: 4,
  UnknownPeer: 5,
  UnknownIndex: 6,
  HandshakeFailed: 7,
  StaleTimestamp: 8,
  DecryptFailed: 9,
  Replay: 10,
  KeyExpired: 11,
  NotIp: 12,
  BadIpLength: 13,
  SourceNotAllowed: 14,
  NoRoute: 15,
  Staged: 16,
  NoEndpoint: 17,
  Keepalive: 18,
  HandshakeConsumed: 19,
  TooBig: 20,
  CookieConsumed: 21,
} as const;
export type Reason = typeof Reason[keyof typeof Reason];

/** Kinds of the records `wg_events` drains. */
export const EventKind = {
  HandshakeSent: 1,
  SessionStarted: 2,
  HandshakeGaveUp: 3,
  EndpointChanged: 4,
  KeysZeroed: 5,
  CookieReceived: 6,
  RekeyStarted: 7,
} as const;
export type EventKind = typeof EventKind[keyof typeof EventKind];

/** Room in front of an outbound packet for the transport header. */
export const HEADROOM = 16;
/** Transport header and tag around a padded payload. */
export const TRANSPORT_OVERHEAD = 32;
/** Words in one batch descriptor. */
export const DESC_WORDS = 12;
/** Peer id meaning "no peer". */
export const NO_PEER = 0xFFFF_FFFF;

function nameOf(table: Readonly<Record<string, number>>, value: number): string {
  for (const [name, v] of Object.entries(table)) if (v === value) return name;
  return `#${value}`;
}

/** The name of a `Reason` value, e.g. `"Replay"`. */
export function reasonName(value: number): string {
  return nameOf(Reason, value);
}

/** The name of a `CoreError` value, e.g. `"NoSuchPeer"`. */
export function coreErrorName(value: number): string {
  return nameOf(CoreError, value);
}

/** The name of an `EventKind` value, e.g. `"SessionStarted"`. */
export function eventKindName(value: number): string {
  return nameOf(EventKind, value);
}
