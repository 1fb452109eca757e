//! Wire formats, sizes and protocol constants (WireGuard whitepaper §5.4, §6),
//! and the flat enums the ABI speaks in. Everything that crosses the ABI as a
//! number is defined here and nowhere else.
//!
//! The sections between `// @abi begin` and `// @abi end` are the host's
//! side of the ABI: build.ts generates `src/wg/abi.ts` and `launcher/abi.h`
//! from them, and `deno task build --check` fails when either is stale. In
//! those sections a constant is `pub const NAME: u32 | usize | i32 = VALUE;`,
//! VALUE a number, `u32::MAX`, or a sum of numbers and constants above it, and
//! an enum is `#[repr(u32)]` or `#[repr(i32)]` with `Variant = number,`;
//! `///` comments go along.

use core::ops::Range;

// ---- Message types and sizes (whitepaper §5.4) ----

// @abi begin
pub const MSG_INITIATION: u32 = 1;
pub const MSG_RESPONSE: u32 = 2;
pub const MSG_COOKIE_REPLY: u32 = 3;
pub const MSG_TRANSPORT: u32 = 4;

/// type(4) sender(4) ephemeral(32) static(32+16) timestamp(12+16) mac1(16) mac2(16)
pub const INITIATION_LEN: usize = 148;
/// type(4) sender(4) receiver(4) ephemeral(32) empty(0+16) mac1(16) mac2(16)
pub const RESPONSE_LEN: usize = 92;
/// type(4) receiver(4) nonce(24) cookie(16+16)
pub const COOKIE_REPLY_LEN: usize = 64;
/// type(4) receiver(4) counter(8)
pub const TRANSPORT_HEADER_LEN: usize = 16;
pub const AEAD_TAG_LEN: usize = 16;
/// A transport message carries at least the header and a tag (a keepalive).
pub const TRANSPORT_MIN_LEN: usize = TRANSPORT_HEADER_LEN + AEAD_TAG_LEN;
/// Plaintext is padded to a multiple of this (whitepaper §5.4.6).
pub const PADDING_MULTIPLE: usize = 16;
/// Room the host leaves in front of a packet for the transport header.
pub const HEADROOM: usize = TRANSPORT_HEADER_LEN;
/// Room the host leaves behind a packet it reads from the TUN: the padding
/// (at most PADDING_MULTIPLE - 1 bytes) and the tag.
pub const TAILROOM: usize = PADDING_MULTIPLE + AEAD_TAG_LEN;
// @abi end

/// Fields the device reads or writes itself, as byte ranges (the handshake
/// messages' other fields are noise.rs's). All integers are little endian.
pub const MSG_TYPE: Range<usize> = 0..4;
/// An initiation's or a response's own index.
pub const HANDSHAKE_SENDER: Range<usize> = 4..8;
/// A response's copy of the initiator's index.
pub const RESPONSE_RECEIVER: Range<usize> = 8..12;
pub const COOKIE_REPLY_RECEIVER: Range<usize> = 4..8;
pub const TRANSPORT_RECEIVER: Range<usize> = 4..8;
pub const TRANSPORT_COUNTER: Range<usize> = 8..16;

// ---- Noise constants (whitepaper §5.4) ----

pub const CONSTRUCTION: &[u8] = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
pub const IDENTIFIER: &[u8] = b"WireGuard v1 zx2c4 Jason@zx2c4.com";
pub const LABEL_MAC1: &[u8] = b"mac1----";
pub const LABEL_COOKIE: &[u8] = b"cookie--";

// ---- Timer and counter limits (whitepaper §6.1) ----

pub const REKEY_AFTER_MESSAGES: u64 = 1 << 60;
pub const REJECT_AFTER_MESSAGES: u64 = u64::MAX - (1 << 13);
/// Milliseconds, like every time in this crate.
pub const REKEY_AFTER_TIME: f64 = 120_000.0;
/// The receive-side rekey: REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT.
pub const REKEY_AFTER_TIME_RECEIVING: f64 = 165_000.0;
pub const REJECT_AFTER_TIME: f64 = 180_000.0;
pub const REKEY_ATTEMPT_TIME: f64 = 90_000.0;
pub const REKEY_TIMEOUT: f64 = 5_000.0;
pub const REKEY_TIMEOUT_JITTER_MAX: f64 = 333.0;
pub const KEEPALIVE_TIMEOUT: f64 = 10_000.0;
/// Keys are zeroed after REJECT_AFTER_TIME * 3 without a new handshake.
pub const ZERO_KEYS_AFTER: f64 = REJECT_AFTER_TIME * 3.0;
/// A new handshake when sent data got no reply: KEEPALIVE_TIMEOUT + REKEY_TIMEOUT.
pub const NEW_HANDSHAKE_AFTER: f64 = KEEPALIVE_TIMEOUT + REKEY_TIMEOUT;
pub const COOKIE_SECRET_MAX_AGE: f64 = 120_000.0;
/// A received cookie is usable for this long (COOKIE_SECRET_MAX_AGE - cookie latency).
pub const COOKIE_MAX_AGE: f64 = 120_000.0 - 5_000.0;
/// At most this many initiations per second to one peer (1000 / 50 = 20 ms apart).
pub const MAX_INITIATIONS_PER_SECOND: f64 = 50.0;

// ---- Implementation limits (ours, not the specification's) ----

/// Sliding replay window, as the kernel and wireguard-go (8192 - 64).
pub const REPLAY_WINDOW: u64 = 8128;
/// Packets held per peer while a handshake is under way.
pub const MAX_STAGED_PACKETS: usize = 128;
pub const MAX_PEERS: usize = 1 << 16;
/// Handshake messages with a valid MAC1 per second above which the device
/// counts as under load.
pub const UNDER_LOAD_HANDSHAKES_PER_SECOND: u32 = 256;
/// Per-source handshake rate limit (as the kernel): packets per second and burst.
pub const RATELIMIT_PACKETS_PER_SECOND: f64 = 20.0;
pub const RATELIMIT_BURST: f64 = 5.0;

// ---- The batch descriptor, events, stats (see wasm/README.md "Batches") ----

// @abi begin
/// Words (u32) in one batch descriptor, and the index of each field.
pub const DESC_WORDS: usize = 12;
/// Where the packet starts within its slot.
pub const DESC_OFFSET: usize = 0;
pub const DESC_LEN: usize = 1;
/// An `Op`: what the host does with the packet.
pub const DESC_OP: usize = 2;
/// A peer id, or NO_PEER.
pub const DESC_PEER: usize = 3;
/// A `Reason`: why a packet was dropped, or what consumed it.
pub const DESC_REASON: usize = 4;
/// The endpoint record's first word (ENDPOINT_WORDS of them).
pub const DESC_ENDPOINT: usize = 5;
pub const NO_PEER: u32 = u32::MAX;

/// Words in an endpoint record, and the index of each field: family (0 none,
/// 4, 6), port, IPv6 scope id, then 16 address bytes (IPv4 in the first 4).
pub const ENDPOINT_WORDS: usize = 7;
pub const ENDPOINT_FAMILY: usize = 0;
pub const ENDPOINT_PORT: usize = 1;
pub const ENDPOINT_SCOPE_ID: usize = 2;
pub const ENDPOINT_ADDRESS: usize = 3;

/// Words (u32) in an event record from `wg_events`, and the index of each.
pub const EVENT_WORDS: usize = 4;
/// An `EventKind`.
pub const EVENT_KIND: usize = 0;
pub const EVENT_PEER: usize = 1;
pub const EVENT_A: usize = 2;
pub const EVENT_B: usize = 3;
/// Events the core keeps; the oldest go first when full. `wg_events` returns
/// at most this many a call.
pub const EVENT_CAPACITY: usize = 1024;

/// Values (f64) `wg_peer_stats` writes, and the index of each.
pub const STATS_VALUES: usize = 8;
/// Wall-clock ms of the last completed handshake; 0 = never.
pub const STATS_LAST_HANDSHAKE_WALL: usize = 0;
pub const STATS_RX_BYTES: usize = 1;
pub const STATS_TX_BYTES: usize = 2;
pub const STATS_HANDSHAKES: usize = 3;
/// Age of the current session in ms; -1 when there is none.
pub const STATS_SESSION_AGE: usize = 4;

/// What the host does with a packet after a batch call (descriptor word 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Op {
    /// Dropped or consumed.
    None = 0,
    /// Write it to the TUN.
    Tun = 1,
    /// Send it to the endpoint in the descriptor.
    Network = 2,
}

/// Failures of exported calls; returned to the host as `-(code)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Error {
    InvalidArgument = 1,
    NoEntropy = 2,
    NoPrivateKey = 3,
    DhZero = 4,
    TooManyPeers = 5,
    NoSuchPeer = 6,
    DuplicatePeer = 7,
    BadPrefix = 8,
    AuthFailed = 9,
    OutOfMemory = 10,
    BufferTooSmall = 11,
}

/// Why a packet was dropped, or what consumed it (descriptor word 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Reason {
    Ok = 0,
    Malformed = 1,
    BadMac1 = 2,
    CookieSent = 3,
    RateLimited = 4,
    UnknownPeer = 5,
    UnknownIndex = 6,
    HandshakeFailed = 7,
    StaleTimestamp = 8,
    DecryptFailed = 9,
    Replay = 10,
    KeyExpired = 11,
    NotIp = 12,
    BadIpLength = 13,
    SourceNotAllowed = 14,
    NoRoute = 15,
    Staged = 16,
    NoEndpoint = 17,
    Keepalive = 18,
    HandshakeConsumed = 19,
    TooBig = 20,
    CookieConsumed = 21,
}

/// Kinds of the records `wg_events` drains (the `EVENT_KIND` word).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum EventKind {
    /// a = 1 if a retransmission.
    HandshakeSent = 1,
    /// a = 1 if we initiated.
    SessionStarted = 2,
    HandshakeGaveUp = 3,
    EndpointChanged = 4,
    KeysZeroed = 5,
    CookieReceived = 6,
    RekeyStarted = 7,
}

/// How the core decides whether it is under load (`wg_device_set_load`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum LoadMode {
    /// By the rate of handshake messages with a valid MAC1.
    Auto = 0,
    /// Always under load (tests).
    Always = 1,
    /// Never under load (tests).
    Never = 2,
}
// @abi end

impl LoadMode {
    /// The mode `wg_device_set_load` was given, if it is one.
    pub fn from_u32(mode: u32) -> Option<LoadMode> {
        [LoadMode::Auto, LoadMode::Always, LoadMode::Never]
            .into_iter()
            .find(|m| *m as u32 == mode)
    }
}
