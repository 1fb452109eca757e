//! The Noise_IKpsk2 handshake of WireGuard (whitepaper §5.4.2–§5.4.5):
//!
//! ```text
//! IKpsk2:
//!   <- s
//!   ...
//!   -> e, es, s, ss          (initiation, 148 bytes)
//!   <- e, ee, se, psk        (response, 92 bytes)
//! ```
//!
//! Pure functions over caller-supplied buffers: no clock, no randomness of
//! its own (ephemeral keys and timestamps come in as bytes), no I/O. Every
//! step below quotes the whitepaper's line. MAC1 and MAC2 are left zero here:
//! `cookie.rs` adds and checks them. Chaining keys, hashes, DH results and
//! AEAD keys live in types that wipe themselves when dropped, so early
//! returns wipe too.

use crate::aead;
use crate::blake2s;
use crate::ct::{ct_eq, wipe};
use crate::kdf::{kdf1, kdf2, kdf3};
use crate::messages::{
    Error, Reason, CONSTRUCTION, IDENTIFIER, INITIATION_LEN, MSG_COOKIE_REPLY, MSG_INITIATION,
    MSG_RESPONSE, MSG_TRANSPORT, RESPONSE_LEN,
};
use crate::x25519;

// ---- Wire offsets (whitepaper §5.4.2, §5.4.3) ----

const TYPE: core::ops::Range<usize> = 0..4;
const INIT_SENDER: core::ops::Range<usize> = 4..8;
const INIT_EPHEMERAL: core::ops::Range<usize> = 8..40;
const INIT_STATIC: core::ops::Range<usize> = 40..72;
const INIT_STATIC_TAG: core::ops::Range<usize> = 72..88;
const INIT_TIMESTAMP: core::ops::Range<usize> = 88..100;
const INIT_TIMESTAMP_TAG: core::ops::Range<usize> = 100..116;
const RESP_SENDER: core::ops::Range<usize> = 4..8;
const RESP_RECEIVER: core::ops::Range<usize> = 8..12;
const RESP_EPHEMERAL: core::ops::Range<usize> = 12..44;
const RESP_EMPTY_TAG: core::ops::Range<usize> = 44..60;

// ---- Secrets that wipe themselves ----

/// 32 secret bytes, zeroed on drop.
struct Key([u8; 32]);

impl Drop for Key {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// DH(private, public); `None` when the result is all zero (a low-order
/// public key), which WireGuard refuses.
fn dh(private: &[u8; 32], public: &[u8; 32]) -> Option<Key> {
    let shared = Key(x25519::scalarmult(private, public));
    if ct_eq(&shared.0, &[0u8; 32]) {
        None
    } else {
        Some(shared)
    }
}

/// The symmetric state of one side: chaining key C and hash H.
struct Chain {
    ck: [u8; 32],
    h: [u8; 32],
}

impl Drop for Chain {
    fn drop(&mut self) {
        wipe(&mut self.ck);
        wipe(&mut self.h);
    }
}

impl Chain {
    /// C := HASH(CONSTRUCTION); H := HASH(C || IDENTIFIER); H := HASH(H || S_r^pub)
    fn start(responder_public: &[u8; 32]) -> Chain {
        let mut chain = Chain {
            ck: [0; 32],
            h: [0; 32],
        };
        blake2s::hash(&mut chain.ck, &[], &[CONSTRUCTION]);
        blake2s::hash(&mut chain.h, &[], &[&chain.ck, IDENTIFIER]);
        chain.mix_hash(responder_public);
        chain
    }

    /// H := HASH(H || data)
    fn mix_hash(&mut self, data: &[u8]) {
        let mut next = [0u8; 32];
        blake2s::hash(&mut next, &[], &[&self.h, data]);
        self.h = next;
        wipe(&mut next);
    }

    /// C := KDF1(C, input)
    fn mix_key(&mut self, input: &[u8]) {
        let mut next = kdf1(&self.ck, input);
        self.ck = next;
        wipe(&mut next);
    }

    /// (C, κ) := KDF2(C, input)
    fn mix_key_out(&mut self, input: &[u8]) -> Key {
        let (mut next, key) = kdf2(&self.ck, input);
        self.ck = next;
        wipe(&mut next);
        Key(key)
    }

    /// (C, τ, κ) := KDF3(C, Q); H := HASH(H || τ)
    fn mix_psk(&mut self, psk: &[u8; 32]) -> Key {
        let (mut next, mut tau, key) = kdf3(&self.ck, psk);
        self.ck = next;
        self.mix_hash(&tau);
        wipe(&mut next);
        wipe(&mut tau);
        Key(key)
    }

    /// (T^first, T^second) := KDF2(C, ε)
    fn split(&self) -> (Key, Key) {
        let (first, second) = kdf2(&self.ck, &[]);
        (Key(first), Key(second))
    }
}

// ---- Identities ----

/// The device's static key pair.
pub struct StaticKeys {
    pub private: [u8; 32],
    pub public: [u8; 32],
}

impl StaticKeys {
    /// The key pair of `private` (clamped as X25519 does).
    pub fn from_private(private: [u8; 32]) -> StaticKeys {
        let mut keys = StaticKeys {
            private,
            public: [0; 32],
        };
        x25519::clamp(&mut keys.private);
        keys.public = x25519::scalarmult_base(&keys.private);
        keys
    }
}

impl Drop for StaticKeys {
    fn drop(&mut self) {
        wipe(&mut self.private);
    }
}

impl core::fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StaticKeys")
            .field("private", &"<redacted>")
            .field("public", &self.public)
            .finish()
    }
}

/// What the device knows of one peer: its public key, the preshared key
/// (all zero when none), and DH(local static, peer static) precomputed.
pub struct PeerStatic {
    pub public: [u8; 32],
    pub psk: [u8; 32],
    /// DH(S_local^priv, S_peer^pub); all zero marks an unusable peer.
    pub ss: [u8; 32],
}

impl PeerStatic {
    /// Precomputes the static-static DH; `Err(DhZero)` for a low-order key.
    pub fn new(
        local: &StaticKeys,
        public: [u8; 32],
        psk: Option<[u8; 32]>,
    ) -> Result<PeerStatic, Error> {
        let ss = dh(&local.private, &public).ok_or(Error::DhZero)?;
        Ok(PeerStatic {
            public,
            psk: psk.unwrap_or([0; 32]),
            ss: ss.0,
        })
    }

    /// Recomputes `ss` after the device's private key changed; on
    /// `Err(DhZero)` the peer is left unusable (ss all zero).
    pub fn rekey(&mut self, local: &StaticKeys) -> Result<(), Error> {
        match dh(&local.private, &self.public) {
            Some(ss) => {
                self.ss = ss.0;
                Ok(())
            }
            None => {
                wipe(&mut self.ss);
                Err(Error::DhZero)
            }
        }
    }

    fn usable(&self) -> bool {
        !ct_eq(&self.ss, &[0u8; 32])
    }
}

impl Drop for PeerStatic {
    fn drop(&mut self) {
        wipe(&mut self.psk);
        wipe(&mut self.ss);
    }
}

impl core::fmt::Debug for PeerStatic {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PeerStatic")
            .field("public", &self.public)
            .field("psk", &"<redacted>")
            .finish()
    }
}

// ---- Handshake state and results ----

/// The initiator's state between sending an initiation and its response.
pub struct InitiatorHandshake {
    ephemeral: Key,
    chain: Chain,
    /// The sender index we put in the initiation.
    pub local_index: u32,
}

/// A decrypted initiation, before the caller has found the peer.
pub struct ConsumedInitiation {
    pub remote_static: [u8; 32],
    pub remote_index: u32,
    pub timestamp: [u8; 12],
    remote_ephemeral: [u8; 32],
    chain: Chain,
}

/// The transport keys of a finished handshake.
pub struct SessionKeys {
    pub send: [u8; 32],
    pub recv: [u8; 32],
    pub local_index: u32,
    pub remote_index: u32,
}

impl Drop for SessionKeys {
    fn drop(&mut self) {
        wipe(&mut self.send);
        wipe(&mut self.recv);
    }
}

impl core::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SessionKeys")
            .field("keys", &"<redacted>")
            .field("local_index", &self.local_index)
            .field("remote_index", &self.remote_index)
            .finish()
    }
}

impl core::fmt::Debug for InitiatorHandshake {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InitiatorHandshake")
            .field("local_index", &self.local_index)
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for ConsumedInitiation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ConsumedInitiation")
            .field("remote_static", &self.remote_static)
            .field("remote_index", &self.remote_index)
            .finish_non_exhaustive()
    }
}

// ---- Small parsers ----

/// The message type, if `buf` holds at least a type field whose three
/// reserved bytes are zero.
pub fn msg_type(buf: &[u8]) -> Option<u32> {
    if buf.len() < 4 || buf[1..4] != [0, 0, 0] {
        return None;
    }
    Some(buf[0] as u32)
}

/// The receiver index of a response, cookie reply or transport message.
pub fn receiver_index(buf: &[u8]) -> Option<u32> {
    let at = match msg_type(buf)? {
        MSG_RESPONSE => RESP_RECEIVER.start,
        MSG_COOKIE_REPLY | MSG_TRANSPORT => 4,
        _ => return None,
    };
    read_u32(buf, at)
}

/// The sender index of an initiation or response.
pub fn sender_index(buf: &[u8]) -> Option<u32> {
    match msg_type(buf)? {
        MSG_INITIATION | MSG_RESPONSE => read_u32(buf, 4),
        _ => None,
    }
}

fn read_u32(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn array32(b: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(b);
    out
}

fn array16(b: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(b);
    out
}

// ---- The initiation (§5.4.2) ----

/// Writes an initiation to `peer` (type through encrypted timestamp; MAC1
/// and MAC2 zero) and returns the state to consume the response with.
pub fn create_initiation(
    local: &StaticKeys,
    peer: &PeerStatic,
    local_index: u32,
    ephemeral_private: [u8; 32],
    timestamp: [u8; 12],
    msg: &mut [u8; INITIATION_LEN],
) -> Result<InitiatorHandshake, Error> {
    if !peer.usable() {
        return Err(Error::DhZero);
    }
    let ephemeral = Key(ephemeral_private);
    msg.fill(0);
    // msg.message_type := 1; msg.reserved_zero := 0^3; msg.sender_index := I_i
    msg[TYPE].copy_from_slice(&MSG_INITIATION.to_le_bytes());
    msg[INIT_SENDER].copy_from_slice(&local_index.to_le_bytes());
    // C_i := HASH(CONSTRUCTION); H_i := HASH(C_i || IDENTIFIER); H_i := HASH(H_i || S_r^pub)
    let mut chain = Chain::start(&peer.public);
    // E_i^priv := DH-GENERATE(); msg.unencrypted_ephemeral := DH-PUBKEY(E_i^priv)
    let e_pub = x25519::scalarmult_base(&ephemeral.0);
    msg[INIT_EPHEMERAL].copy_from_slice(&e_pub);
    // C_i := KDF1(C_i, msg.unencrypted_ephemeral)
    chain.mix_key(&e_pub);
    // H_i := HASH(H_i || msg.unencrypted_ephemeral)
    chain.mix_hash(&e_pub);
    // (C_i, κ) := KDF2(C_i, DH(E_i^priv, S_r^pub))
    let es = dh(&ephemeral.0, &peer.public).ok_or(Error::DhZero)?;
    let key = chain.mix_key_out(&es.0);
    // msg.encrypted_static := AEAD(κ, 0, S_i^pub, H_i)
    msg[INIT_STATIC].copy_from_slice(&local.public);
    let tag = aead::seal(&key.0, 0, &chain.h, &mut msg[INIT_STATIC]);
    msg[INIT_STATIC_TAG].copy_from_slice(&tag);
    // H_i := HASH(H_i || msg.encrypted_static)
    chain.mix_hash(&msg[INIT_STATIC.start..INIT_STATIC_TAG.end]);
    // (C_i, κ) := KDF2(C_i, DH(S_i^priv, S_r^pub))   (precomputed as peer.ss)
    let key = chain.mix_key_out(&peer.ss);
    // msg.encrypted_timestamp := AEAD(κ, 0, TAI64N(), H_i)
    msg[INIT_TIMESTAMP].copy_from_slice(&timestamp);
    let tag = aead::seal(&key.0, 0, &chain.h, &mut msg[INIT_TIMESTAMP]);
    msg[INIT_TIMESTAMP_TAG].copy_from_slice(&tag);
    // H_i := HASH(H_i || msg.encrypted_timestamp)
    chain.mix_hash(&msg[INIT_TIMESTAMP.start..INIT_TIMESTAMP_TAG.end]);
    Ok(InitiatorHandshake {
        ephemeral,
        chain,
        local_index,
    })
}

/// Decrypts an initiation addressed to `local`. MAC1 must have been checked
/// already. The caller then finds the peer by `remote_static`, checks that
/// `timestamp` is strictly greater than the last one it accepted from that
/// peer, and answers with `create_response`.
pub fn consume_initiation(
    local: &StaticKeys,
    msg: &[u8; INITIATION_LEN],
) -> Result<ConsumedInitiation, Reason> {
    if msg_type(msg) != Some(MSG_INITIATION) {
        return Err(Reason::Malformed);
    }
    // C_r := HASH(CONSTRUCTION); H_r := HASH(C_r || IDENTIFIER); H_r := HASH(H_r || S_r^pub)
    let mut chain = Chain::start(&local.public);
    let e_pub = array32(&msg[INIT_EPHEMERAL]);
    // C_r := KDF1(C_r, msg.unencrypted_ephemeral)
    chain.mix_key(&e_pub);
    // H_r := HASH(H_r || msg.unencrypted_ephemeral)
    chain.mix_hash(&e_pub);
    // (C_r, κ) := KDF2(C_r, DH(S_r^priv, E_i^pub))
    let es = dh(&local.private, &e_pub).ok_or(Reason::HandshakeFailed)?;
    let key = chain.mix_key_out(&es.0);
    // S_i^pub := AEAD-OPEN(κ, 0, msg.encrypted_static, H_i)
    let mut remote_static = array32(&msg[INIT_STATIC]);
    let tag = array16(&msg[INIT_STATIC_TAG]);
    aead::open(&key.0, 0, &chain.h, &mut remote_static, &tag)
        .map_err(|_| Reason::HandshakeFailed)?;
    // H_r := HASH(H_r || msg.encrypted_static)
    chain.mix_hash(&msg[INIT_STATIC.start..INIT_STATIC_TAG.end]);
    // (C_r, κ) := KDF2(C_r, DH(S_r^priv, S_i^pub))
    let ss = dh(&local.private, &remote_static).ok_or(Reason::HandshakeFailed)?;
    let key = chain.mix_key_out(&ss.0);
    // TAI64N := AEAD-OPEN(κ, 0, msg.encrypted_timestamp, H_r)
    let mut timestamp = [0u8; 12];
    timestamp.copy_from_slice(&msg[INIT_TIMESTAMP]);
    let tag = array16(&msg[INIT_TIMESTAMP_TAG]);
    aead::open(&key.0, 0, &chain.h, &mut timestamp, &tag).map_err(|_| Reason::HandshakeFailed)?;
    // H_r := HASH(H_r || msg.encrypted_timestamp)
    chain.mix_hash(&msg[INIT_TIMESTAMP.start..INIT_TIMESTAMP_TAG.end]);
    Ok(ConsumedInitiation {
        remote_static,
        remote_index: read_u32(msg, INIT_SENDER.start).unwrap_or(0),
        timestamp,
        remote_ephemeral: e_pub,
        chain,
    })
}

// ---- The response (§5.4.3) and the transport keys (§5.4.5) ----

/// Writes the response to a consumed initiation from `peer` (MAC1 and MAC2
/// zero) and returns the responder's transport keys. The responder's static
/// key already entered the chain in `consume_initiation`; `_local` stays in
/// the signature so both sides read alike.
pub fn create_response(
    init: ConsumedInitiation,
    _local: &StaticKeys,
    peer: &PeerStatic,
    local_index: u32,
    ephemeral_private: [u8; 32],
    msg: &mut [u8; RESPONSE_LEN],
) -> Result<SessionKeys, Error> {
    if !ct_eq(&init.remote_static, &peer.public) {
        return Err(Error::InvalidArgument);
    }
    let ephemeral = Key(ephemeral_private);
    let mut chain = init.chain;
    msg.fill(0);
    // msg.message_type := 2; msg.reserved_zero := 0^3
    msg[TYPE].copy_from_slice(&MSG_RESPONSE.to_le_bytes());
    // msg.sender_index := I_r; msg.receiver_index := I_i
    msg[RESP_SENDER].copy_from_slice(&local_index.to_le_bytes());
    msg[RESP_RECEIVER].copy_from_slice(&init.remote_index.to_le_bytes());
    // E_r^priv := DH-GENERATE(); msg.unencrypted_ephemeral := DH-PUBKEY(E_r^priv)
    let e_pub = x25519::scalarmult_base(&ephemeral.0);
    msg[RESP_EPHEMERAL].copy_from_slice(&e_pub);
    // C_r := KDF1(C_r, msg.unencrypted_ephemeral)
    chain.mix_key(&e_pub);
    // H_r := HASH(H_r || msg.unencrypted_ephemeral)
    chain.mix_hash(&e_pub);
    // C_r := KDF1(C_r, DH(E_r^priv, E_i^pub))
    let ee = dh(&ephemeral.0, &init.remote_ephemeral).ok_or(Error::DhZero)?;
    chain.mix_key(&ee.0);
    // C_r := KDF1(C_r, DH(E_r^priv, S_i^pub))
    let se = dh(&ephemeral.0, &peer.public).ok_or(Error::DhZero)?;
    chain.mix_key(&se.0);
    // (C_r, τ, κ) := KDF3(C_r, Q); H_r := HASH(H_r || τ)
    let key = chain.mix_psk(&peer.psk);
    // msg.encrypted_nothing := AEAD(κ, 0, ε, H_r)
    let tag = aead::seal(&key.0, 0, &chain.h, &mut []);
    msg[RESP_EMPTY_TAG].copy_from_slice(&tag);
    // H_r := HASH(H_r || msg.encrypted_nothing)
    chain.mix_hash(&tag);
    // (T_r^recv, T_r^send) := KDF2(C_r, ε)
    let (recv, send) = chain.split();
    Ok(SessionKeys {
        send: send.0,
        recv: recv.0,
        local_index,
        remote_index: init.remote_index,
    })
}

/// Checks a response to our initiation and returns the initiator's
/// transport keys. `hs` is left as it was, so a forged response does not
/// end the handshake. MAC1 must have been checked already.
pub fn consume_response(
    hs: &InitiatorHandshake,
    local: &StaticKeys,
    peer: &PeerStatic,
    msg: &[u8; RESPONSE_LEN],
) -> Result<SessionKeys, Reason> {
    if msg_type(msg) != Some(MSG_RESPONSE) {
        return Err(Reason::Malformed);
    }
    if read_u32(msg, RESP_RECEIVER.start) != Some(hs.local_index) {
        return Err(Reason::UnknownIndex);
    }
    let mut chain = Chain {
        ck: hs.chain.ck,
        h: hs.chain.h,
    };
    let e_pub = array32(&msg[RESP_EPHEMERAL]);
    // C_i := KDF1(C_i, msg.unencrypted_ephemeral)
    chain.mix_key(&e_pub);
    // H_i := HASH(H_i || msg.unencrypted_ephemeral)
    chain.mix_hash(&e_pub);
    // C_i := KDF1(C_i, DH(E_i^priv, E_r^pub))
    let ee = dh(&hs.ephemeral.0, &e_pub).ok_or(Reason::HandshakeFailed)?;
    chain.mix_key(&ee.0);
    // C_i := KDF1(C_i, DH(S_i^priv, E_r^pub))
    let se = dh(&local.private, &e_pub).ok_or(Reason::HandshakeFailed)?;
    chain.mix_key(&se.0);
    // (C_i, τ, κ) := KDF3(C_i, Q); H_i := HASH(H_i || τ)
    let key = chain.mix_psk(&peer.psk);
    // ε := AEAD-OPEN(κ, 0, msg.encrypted_nothing, H_i)
    let tag = array16(&msg[RESP_EMPTY_TAG]);
    aead::open(&key.0, 0, &chain.h, &mut [], &tag).map_err(|_| Reason::HandshakeFailed)?;
    // H_i := HASH(H_i || msg.encrypted_nothing)
    chain.mix_hash(&tag);
    // (T_i^send, T_i^recv) := KDF2(C_i, ε)
    let (send, recv) = chain.split();
    Ok(SessionKeys {
        send: send.0,
        recv: recv.0,
        local_index: hs.local_index,
        remote_index: read_u32(msg, RESP_SENDER.start).unwrap_or(0),
    })
}

/// Known answers from tests/reference/wg_handshake.py, an independent
/// implementation whose bytes wireguard-go accepts (its `--interop` mode).
#[cfg(test)]
pub(crate) mod kat {
    #![allow(dead_code)]
    // Generated by tests/reference/wg_handshake.py --rust
    pub const INIT_STATIC: &str =
        "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f";
    pub const RESP_STATIC: &str =
        "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f";
    pub const INIT_EPHEMERAL: &str =
        "707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f";
    pub const RESP_EPHEMERAL: &str =
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";
    pub const PSK: &str = "d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef";
    pub const TIMESTAMP: &str = "400000006553f100075bcd15";
    pub const COOKIE_SECRET: &str =
        "333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152";
    pub const COOKIE_NONCE: &str = "55565758595a5b5c5d5e5f606162636465666768696a6b6c";
    pub const COOKIE_SOURCE: &str = "7f000001ca6c";
    pub const INITIATION: &str = "010000004433221123b7bb8c91ae008711fb12846780bcdf1e065f821bdfec49f57e7c7dcd4c48237c9f087a47c7776566936c12f69cdefeb0172eed5225b21ffd5b64d7cbdcc06f5db9067ffb754a97052851ac628edb82dd2c601dbc2df93662737083933d7e3a557b16d95c281214832f1df32f666e0903728922ff3ca299936b353e00000000000000000000000000000000";
    pub const RESPONSE: &str = "020000008877665544332211605a725d2a4adfeeb1a29e17edd621c1b7593ee8cdbc44ac6c4ab6e2f805d23c2d91583bb69493366c14298430967687fcaa905256aa870021ae240d55ff264b00000000000000000000000000000000";
    pub const INITIATOR_SEND: &str =
        "5ace7d7e52b9286764b8d14280cc097d5d4b47a38b5366b86a225036839d2fda";
    pub const INITIATOR_RECV: &str =
        "f7733ed49ad38b07311106e7f124da0765a9929be4bf18eae82102d14b5e4bbc";
    pub const INITIATION_PSK: &str = "010000004433221123b7bb8c91ae008711fb12846780bcdf1e065f821bdfec49f57e7c7dcd4c48237c9f087a47c7776566936c12f69cdefeb0172eed5225b21ffd5b64d7cbdcc06f5db9067ffb754a97052851ac628edb82dd2c601dbc2df93662737083933d7e3a557b16d95c281214832f1df32f666e0903728922ff3ca299936b353e00000000000000000000000000000000";
    pub const RESPONSE_PSK: &str = "020000008877665544332211605a725d2a4adfeeb1a29e17edd621c1b7593ee8cdbc44ac6c4ab6e2f805d23c9b55bf0b0767ad6dfbba6a81bf90ca25fabe57d4912548530f03be6f3f01740b00000000000000000000000000000000";
    pub const INITIATOR_SEND_PSK: &str =
        "24538fbb2f7b0840790ff8bf90b1ba327f60abf80e70035d8814528477206e03";
    pub const INITIATOR_RECV_PSK: &str =
        "5d2d3fc0fc221c39f0fa4884d050609578db6fd101c6eaf565603d96f46ac756";
    pub const COOKIE: &str = "48715be5f3cc6430e0a04ec802acdf57";
    pub const COOKIE_REPLY: &str = "030000004433221155565758595a5b5c5d5e5f606162636465666768696a6b6c25b88078a9553ce88bbe94b264f23b410d396943d0d1bd28204a71bfb9fb0990";
    pub const INITIATION_MAC2: &str = "fdeec5af0f7808c9d39747fe2679ea15";
    pub const INIT_INDEX: u32 = 0x11223344;
    pub const RESP_INDEX: u32 = 0x55667788;

    pub fn bytes(hex: &str) -> Vec<u8> {
        crate::blake2s::hex(hex)
    }

    pub fn key(hex: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&bytes(hex));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::kat::{self, bytes, key};
    use super::*;
    use crate::cookie::{CookieChecker, CookieGenerator};
    use crate::rng::Drbg;

    /// Low-order points of Curve25519 (and 0): DH with them is all zero.
    const LOW_ORDER: [&str; 5] = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ];

    struct Pair {
        init: StaticKeys,
        resp: StaticKeys,
        init_peer: PeerStatic, // the responder, as the initiator knows it
        resp_peer: PeerStatic, // the initiator, as the responder knows it
    }

    fn kat_pair(psk: Option<[u8; 32]>) -> Pair {
        let init = StaticKeys::from_private(key(kat::INIT_STATIC));
        let resp = StaticKeys::from_private(key(kat::RESP_STATIC));
        let init_peer = PeerStatic::new(&init, resp.public, psk).unwrap();
        let resp_peer = PeerStatic::new(&resp, init.public, psk).unwrap();
        Pair {
            init,
            resp,
            init_peer,
            resp_peer,
        }
    }

    fn seeded(seed: u8) -> Drbg {
        let mut rng = Drbg::new();
        rng.reseed(&[seed; 32]);
        rng
    }

    fn random_key(rng: &mut Drbg) -> [u8; 32] {
        let mut k = [0u8; 32];
        rng.fill(&mut k).unwrap();
        k
    }

    fn timestamp() -> [u8; 12] {
        let mut t = [0u8; 12];
        t.copy_from_slice(&bytes(kat::TIMESTAMP));
        t
    }

    fn initiation(p: &Pair) -> (InitiatorHandshake, [u8; INITIATION_LEN]) {
        let mut msg = [0u8; INITIATION_LEN];
        let hs = create_initiation(
            &p.init,
            &p.init_peer,
            kat::INIT_INDEX,
            key(kat::INIT_EPHEMERAL),
            timestamp(),
            &mut msg,
        )
        .unwrap();
        (hs, msg)
    }

    fn response(p: &Pair, init_msg: &[u8; INITIATION_LEN]) -> (SessionKeys, [u8; RESPONSE_LEN]) {
        let consumed = consume_initiation(&p.resp, init_msg).unwrap();
        let mut msg = [0u8; RESPONSE_LEN];
        let keys = create_response(
            consumed,
            &p.resp,
            &p.resp_peer,
            kat::RESP_INDEX,
            key(kat::RESP_EPHEMERAL),
            &mut msg,
        )
        .unwrap();
        (keys, msg)
    }

    fn known_answer(psk: Option<[u8; 32]>, init_hex: &str, resp_hex: &str, send: &str, recv: &str) {
        let p = kat_pair(psk);
        let (hs, mut init_msg) = initiation(&p);
        CookieGenerator::new(&p.resp.public).add_macs(&mut init_msg, 0.0);
        assert_eq!(init_msg.to_vec(), bytes(init_hex), "initiation bytes");

        let consumed = consume_initiation(&p.resp, &init_msg).unwrap();
        assert_eq!(consumed.remote_static, p.init.public);
        assert_eq!(consumed.remote_index, kat::INIT_INDEX);
        assert_eq!(consumed.timestamp, timestamp());

        let (resp_keys, mut resp_msg) = response(&p, &init_msg);
        CookieGenerator::new(&p.init.public).add_macs(&mut resp_msg, 0.0);
        assert_eq!(resp_msg.to_vec(), bytes(resp_hex), "response bytes");

        let init_keys = consume_response(&hs, &p.init, &p.init_peer, &resp_msg).unwrap();
        assert_eq!(init_keys.send, key(send));
        assert_eq!(init_keys.recv, key(recv));
        assert_eq!(resp_keys.send, init_keys.recv);
        assert_eq!(resp_keys.recv, init_keys.send);
        assert_eq!(init_keys.local_index, kat::INIT_INDEX);
        assert_eq!(init_keys.remote_index, kat::RESP_INDEX);
        assert_eq!(resp_keys.local_index, kat::RESP_INDEX);
        assert_eq!(resp_keys.remote_index, kat::INIT_INDEX);
    }

    #[test]
    fn handshake_matches_the_reference_implementation() {
        known_answer(
            None,
            kat::INITIATION,
            kat::RESPONSE,
            kat::INITIATOR_SEND,
            kat::INITIATOR_RECV,
        );
    }

    #[test]
    fn handshake_with_psk_matches_the_reference_implementation() {
        known_answer(
            Some(key(kat::PSK)),
            kat::INITIATION_PSK,
            kat::RESPONSE_PSK,
            kat::INITIATOR_SEND_PSK,
            kat::INITIATOR_RECV_PSK,
        );
    }

    #[test]
    fn random_handshakes_give_crosswise_keys() {
        let mut rng = seeded(1);
        for round in 0..20u32 {
            let init = StaticKeys::from_private(random_key(&mut rng));
            let resp = StaticKeys::from_private(random_key(&mut rng));
            let psk = if round % 2 == 0 {
                Some(random_key(&mut rng))
            } else {
                None
            };
            let init_peer = PeerStatic::new(&init, resp.public, psk).unwrap();
            let resp_peer = PeerStatic::new(&resp, init.public, psk).unwrap();
            assert_eq!(init_peer.ss, resp_peer.ss);
            let mut m1 = [0u8; INITIATION_LEN];
            let hs = create_initiation(
                &init,
                &init_peer,
                round,
                random_key(&mut rng),
                [round as u8; 12],
                &mut m1,
            )
            .unwrap();
            let consumed = consume_initiation(&resp, &m1).unwrap();
            assert_eq!(consumed.remote_static, init.public);
            assert_eq!(consumed.timestamp, [round as u8; 12]);
            let mut m2 = [0u8; RESPONSE_LEN];
            let r = create_response(
                consumed,
                &resp,
                &resp_peer,
                1000 + round,
                random_key(&mut rng),
                &mut m2,
            )
            .unwrap();
            let i = consume_response(&hs, &init, &init_peer, &m2).unwrap();
            assert_eq!(i.send, r.recv);
            assert_eq!(i.recv, r.send);
            assert_ne!(i.send, i.recv);
            assert_eq!((i.local_index, i.remote_index), (round, 1000 + round));
            assert_eq!((r.local_index, r.remote_index), (1000 + round, round));
        }
    }

    #[test]
    fn wrong_psk_fails_the_response() {
        let init = StaticKeys::from_private(key(kat::INIT_STATIC));
        let resp = StaticKeys::from_private(key(kat::RESP_STATIC));
        let init_peer = PeerStatic::new(&init, resp.public, Some(key(kat::PSK))).unwrap();
        let resp_peer = PeerStatic::new(&resp, init.public, Some([9; 32])).unwrap();
        let p = Pair {
            init,
            resp,
            init_peer,
            resp_peer,
        };
        let (hs, m1) = initiation(&p);
        let (_, m2) = response(&p, &m1);
        assert_eq!(
            consume_response(&hs, &p.init, &p.init_peer, &m2).unwrap_err(),
            Reason::HandshakeFailed
        );
        // No PSK on one side only fails as well.
        let resp_peer = PeerStatic::new(&p.resp, p.init.public, None).unwrap();
        let p = Pair { resp_peer, ..p };
        let (_, m2) = response(&p, &m1);
        assert!(consume_response(&hs, &p.init, &p.init_peer, &m2).is_err());
    }

    #[test]
    fn initiation_to_another_responder_fails() {
        let p = kat_pair(None);
        let (_, m1) = initiation(&p);
        let other = StaticKeys::from_private([0x77; 32]);
        assert_eq!(
            consume_initiation(&other, &m1).unwrap_err(),
            Reason::HandshakeFailed
        );
    }

    #[test]
    fn response_to_another_initiation_fails() {
        let p = kat_pair(None);
        let (first, m1) = initiation(&p);
        let mut other = [0u8; INITIATION_LEN];
        let second = create_initiation(
            &p.init,
            &p.init_peer,
            kat::INIT_INDEX,
            [0x42; 32],
            timestamp(),
            &mut other,
        )
        .unwrap();
        let (_, m2) = response(&p, &m1);
        // Same index, another ephemeral: the response is bound to the first.
        assert_eq!(
            consume_response(&second, &p.init, &p.init_peer, &m2).unwrap_err(),
            Reason::HandshakeFailed
        );
        // The failed attempt changed nothing.
        assert!(consume_response(&first, &p.init, &p.init_peer, &m2).is_ok());
    }

    #[test]
    fn every_tampered_authenticated_byte_fails() {
        let p = kat_pair(Some(key(kat::PSK)));
        let (hs, m1) = initiation(&p);
        for i in (0..4).chain(8..116) {
            let mut bad = m1;
            bad[i] ^= 0x10;
            assert!(
                consume_initiation(&p.resp, &bad).is_err(),
                "initiation byte {}",
                i
            );
        }
        let (_, m2) = response(&p, &m1);
        for i in (0..4).chain(8..60) {
            let mut bad = m2;
            bad[i] ^= 0x01;
            assert!(
                consume_response(&hs, &p.init, &p.init_peer, &bad).is_err(),
                "response byte {}",
                i
            );
        }
        assert!(consume_response(&hs, &p.init, &p.init_peer, &m2).is_ok());
    }

    #[test]
    fn response_to_another_index_is_refused() {
        let p = kat_pair(None);
        let (hs, m1) = initiation(&p);
        let (_, mut m2) = response(&p, &m1);
        m2[8] ^= 1;
        assert_eq!(
            consume_response(&hs, &p.init, &p.init_peer, &m2).unwrap_err(),
            Reason::UnknownIndex
        );
    }

    #[test]
    fn low_order_public_keys_are_rejected() {
        let p = kat_pair(None);
        for point in LOW_ORDER {
            let point = key(point);
            assert_eq!(
                PeerStatic::new(&p.init, point, None).unwrap_err(),
                Error::DhZero
            );

            // An initiation whose ephemeral is low order.
            let (_, mut m1) = initiation(&p);
            m1[INIT_EPHEMERAL].copy_from_slice(&point);
            assert_eq!(
                consume_initiation(&p.resp, &m1).unwrap_err(),
                Reason::HandshakeFailed
            );

            // A response whose ephemeral is low order.
            let (hs, m1) = initiation(&p);
            let (_, mut m2) = response(&p, &m1);
            m2[RESP_EPHEMERAL].copy_from_slice(&point);
            assert_eq!(
                consume_response(&hs, &p.init, &p.init_peer, &m2).unwrap_err(),
                Reason::HandshakeFailed
            );
        }
    }

    #[test]
    fn unusable_peer_cannot_initiate() {
        let p = kat_pair(None);
        let mut peer = PeerStatic::new(&p.init, p.resp.public, None).unwrap();
        peer.ss = [0; 32];
        let mut m1 = [0u8; INITIATION_LEN];
        let r = create_initiation(&p.init, &peer, 1, [5; 32], [0; 12], &mut m1);
        assert_eq!(r.unwrap_err(), Error::DhZero);
        peer.rekey(&p.init).unwrap();
        assert!(create_initiation(&p.init, &peer, 1, [5; 32], [0; 12], &mut m1).is_ok());
    }

    #[test]
    fn response_for_another_peer_is_refused() {
        let p = kat_pair(None);
        let (_, m1) = initiation(&p);
        let consumed = consume_initiation(&p.resp, &m1).unwrap();
        let stranger = StaticKeys::from_private([0x66; 32]);
        let wrong = PeerStatic::new(&p.resp, stranger.public, None).unwrap();
        let mut m2 = [0u8; RESPONSE_LEN];
        let r = create_response(consumed, &p.resp, &wrong, 2, [3; 32], &mut m2);
        assert_eq!(r.unwrap_err(), Error::InvalidArgument);
    }

    #[test]
    fn parsers_read_types_and_indices() {
        let p = kat_pair(None);
        let (_, m1) = initiation(&p);
        let (_, m2) = response(&p, &m1);
        assert_eq!(msg_type(&m1), Some(MSG_INITIATION));
        assert_eq!(sender_index(&m1), Some(kat::INIT_INDEX));
        assert_eq!(receiver_index(&m1), None);
        assert_eq!(msg_type(&m2), Some(MSG_RESPONSE));
        assert_eq!(sender_index(&m2), Some(kat::RESP_INDEX));
        assert_eq!(receiver_index(&m2), Some(kat::INIT_INDEX));
        let transport = [4, 0, 0, 0, 0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(receiver_index(&transport), Some(0x1234_5678));
        assert_eq!(sender_index(&transport), None);
        assert_eq!(msg_type(&[1, 0, 1, 0]), None, "reserved bytes must be zero");
        assert_eq!(msg_type(&[1, 0, 0]), None);
        assert_eq!(receiver_index(&[4, 0, 0, 0, 1]), None, "too short");
        let reply = bytes(kat::COOKIE_REPLY);
        assert_eq!(receiver_index(&reply), Some(kat::INIT_INDEX));
    }

    #[test]
    fn initiation_and_response_carry_valid_mac1_once_added() {
        let p = kat_pair(None);
        let (_, mut m1) = initiation(&p);
        let checker = CookieChecker::new(&p.resp.public);
        assert!(!checker.check_mac1(&m1), "noise leaves MAC1 zero");
        CookieGenerator::new(&p.resp.public).add_macs(&mut m1, 0.0);
        assert!(checker.check_mac1(&m1));
    }

    #[test]
    fn secrets_are_redacted_from_debug_output() {
        let p = kat_pair(Some([0xAB; 32]));
        let shown = format!("{:?} {:?}", p.init, p.init_peer);
        assert!(shown.contains("<redacted>"));
        assert!(
            !shown.contains(&format!("{:?}", p.init.private)),
            "private key leaked"
        );
        assert!(!shown.contains("171, 171"), "psk bytes leaked");
    }
}
