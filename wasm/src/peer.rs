//! One peer: its static key and PSK, its endpoint, its session keypairs
//! (previous / current / next, whitepaper §5.4.6 and §6.1), the handshake it
//! initiated, the packets staged while no session exists, and its timers.
//!
//! Keypair rotation, as the whitepaper and the reference implementations do:
//! - the initiator uses a new keypair at once: `current` moves to `previous`
//!   (or, if an unconfirmed `next` exists, `next` does), the new one is
//!   `current`;
//! - the responder may not send with a new keypair before the initiator used
//!   it, so it waits in `next`; the first packet that decrypts under it
//!   promotes it: `current` moves to `previous`, `next` becomes `current`.
//! Packets in flight under `previous` still decrypt until it expires.

use std::collections::{BTreeMap, VecDeque};

use crate::cookie::CookieGenerator;
use crate::ct::wipe;
use crate::messages::{
    Error, ENDPOINT_ADDRESS, ENDPOINT_FAMILY, ENDPOINT_PORT, ENDPOINT_WORDS, MAX_STAGED_PACKETS,
    REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME, REKEY_AFTER_MESSAGES, REKEY_AFTER_TIME,
    REKEY_AFTER_TIME_RECEIVING,
};
use crate::noise::{InitiatorHandshake, PeerStatic, SessionKeys};
use crate::replay::ReplayWindow;
use crate::rng::Drbg;
use crate::timers::Timers;

/// An endpoint record as the ABI carries it (`ENDPOINT_*`): family (0 none,
/// 4, 6), port, scope id, then 16 address bytes (IPv4 in the first 4) as 4
/// words.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Endpoint(pub [u32; ENDPOINT_WORDS]);

impl Endpoint {
    pub fn family(&self) -> u32 {
        self.0[ENDPOINT_FAMILY]
    }

    pub fn is_set(&self) -> bool {
        self.family() == 4 || self.family() == 6
    }

    /// Family 0, 4 or 6 and a port that fits 16 bits.
    pub fn is_valid(&self) -> bool {
        matches!(self.family(), 0 | 4 | 6) && self.0[ENDPOINT_PORT] <= 0xFFFF
    }

    /// The address bytes (4 or 16); empty when no endpoint is set.
    pub fn address(&self) -> ([u8; 16], usize) {
        let mut out = [0u8; 16];
        for (i, word) in self.0[ENDPOINT_ADDRESS..].iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
        }
        let len = match self.family() {
            4 => 4,
            6 => 16,
            _ => 0,
        };
        (out, len)
    }

    /// The address followed by the port (2 bytes, big endian): what the
    /// cookie MAC binds to (whitepaper §5.4.7).
    pub fn cookie_source(&self) -> ([u8; 18], usize) {
        let (addr, len) = self.address();
        let mut out = [0u8; 18];
        out[..len].copy_from_slice(&addr[..len]);
        out[len..len + 2].copy_from_slice(&(self.0[ENDPOINT_PORT] as u16).to_be_bytes());
        (out, len + 2)
    }
}

/// The map from our random 32-bit session indices to the peer that owns
/// them (a handshake or a keypair). Indices are unique while in use.
#[derive(Default)]
pub struct IndexTable {
    map: BTreeMap<u32, u32>,
}

impl IndexTable {
    pub fn new() -> Self {
        IndexTable::default()
    }

    /// A fresh random index, registered to `peer`.
    pub fn allocate(&mut self, peer: u32, rng: &mut Drbg) -> Result<u32, Error> {
        loop {
            let index = rng.next_u32()?;
            if let std::collections::btree_map::Entry::Vacant(slot) = self.map.entry(index) {
                slot.insert(peer);
                return Ok(index);
            }
        }
    }

    pub fn release(&mut self, index: u32) {
        self.map.remove(&index);
    }

    pub fn peer_of(&self, index: u32) -> Option<u32> {
        self.map.get(&index).copied()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// The symmetric keys of one session and its counters. Wiped on drop.
pub struct Keypair {
    pub send_key: [u8; 32],
    pub recv_key: [u8; 32],
    pub local_index: u32,
    pub remote_index: u32,
    /// Monotonic ms when the handshake that made it completed.
    pub created: f64,
    /// Did we send the initiation of this session?
    pub initiator: bool,
    /// The next nonce to send with.
    pub send_counter: u64,
    pub replay: ReplayWindow,
}

impl Keypair {
    pub fn from_session(keys: &SessionKeys, now: f64, initiator: bool) -> Box<Keypair> {
        Box::new(Keypair {
            send_key: keys.send,
            recv_key: keys.recv,
            local_index: keys.local_index,
            remote_index: keys.remote_index,
            created: now,
            initiator,
            send_counter: 0,
            replay: ReplayWindow::new(),
        })
    }

    /// May we still encrypt with it (whitepaper §6.1: REJECT_AFTER_*)?
    pub fn can_send(&self, now: f64) -> bool {
        now - self.created < REJECT_AFTER_TIME && self.send_counter < REJECT_AFTER_MESSAGES
    }

    /// May we still decrypt with it?
    pub fn can_receive(&self, now: f64) -> bool {
        now - self.created < REJECT_AFTER_TIME
    }

    /// Should the sender start a new handshake (whitepaper §6.2)?
    pub fn needs_rekey_sending(&self, now: f64) -> bool {
        self.send_counter >= REKEY_AFTER_MESSAGES
            || (self.initiator && now - self.created >= REKEY_AFTER_TIME)
    }

    /// Should the initiator, on receiving, start a new handshake before the
    /// session expires (REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT)?
    pub fn needs_rekey_receiving(&self, now: f64) -> bool {
        self.initiator && now - self.created >= REKEY_AFTER_TIME_RECEIVING
    }
}

impl Drop for Keypair {
    fn drop(&mut self) {
        wipe(&mut self.send_key);
        wipe(&mut self.recv_key);
    }
}

/// Which of a peer's keypairs an index names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Previous,
    Current,
    Next,
}

/// An initiation we sent and the index it carries.
pub struct PendingHandshake {
    pub state: InitiatorHandshake,
    pub local_index: u32,
}

/// Why a peer is asked for an initiation (`Peer::want_handshake`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Initiation {
    /// Something needs a session (data is staged, one aged or went quiet):
    /// a new series of attempts, unless one sent less than REKEY_TIMEOUT ago
    /// is pending (whitepaper §6.3).
    New,
    /// The host asked for a handshake now (`wg_peer_initiate`): a new series
    /// even so.
    Forced,
    /// The retransmit timer ran out: the current series goes on.
    Retransmission,
}

/// Which attempt of a series a due initiation is (`HandshakeSent`'s `a`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    First,
    Retransmission,
}

/// Counters reported by `wg_peer_stats`.
#[derive(Clone, Copy, Debug, Default)]
pub struct PeerStats {
    /// Wall-clock ms of the last completed handshake; 0 = never.
    pub last_handshake_wall: f64,
    pub rx_bytes: f64,
    pub tx_bytes: f64,
    pub handshakes: f64,
}

pub struct Peer {
    pub id: u32,
    pub public: [u8; 32],
    pub psk: Option<[u8; 32]>,
    /// Precomputed per-peer handshake state; `None` until the device has a
    /// private key (or if the key pair gives an all-zero DH).
    pub statik: Option<PeerStatic>,
    pub cookie: CookieGenerator,
    pub endpoint: Endpoint,
    pub timers: Timers,
    pub previous: Option<Box<Keypair>>,
    pub current: Option<Box<Keypair>>,
    pub next: Option<Box<Keypair>>,
    pub handshake: Option<PendingHandshake>,
    /// The greatest TAI64N timestamp of an initiation we accepted.
    pub last_timestamp: [u8; 12],
    pub last_initiation_consumed: Option<f64>,
    pub last_initiation_sent: Option<f64>,
    /// An initiation to emit on the next poll, and which attempt it is.
    pub initiation_due: Option<Attempt>,
    /// The due initiation replaces a session that aged (RekeyStarted).
    pub rekey_due: bool,
    /// The receive-side rekey was already tried for the current keypair.
    pub sent_last_minute_handshake: bool,
    /// Packets waiting for a session; an empty one is a keepalive.
    pub staged: VecDeque<Vec<u8>>,
    pub stats: PeerStats,
}

impl Peer {
    pub fn new(id: u32, public: [u8; 32], psk: Option<[u8; 32]>, keepalive_s: u32) -> Peer {
        Peer {
            id,
            public,
            psk,
            statik: None,
            cookie: CookieGenerator::new(&public),
            endpoint: Endpoint::default(),
            timers: Timers::new(keepalive_s as f64 * 1000.0),
            previous: None,
            current: None,
            next: None,
            handshake: None,
            last_timestamp: [0; 12],
            last_initiation_consumed: None,
            last_initiation_sent: None,
            initiation_due: None,
            rekey_due: false,
            sent_last_minute_handshake: false,
            staged: VecDeque::new(),
            stats: PeerStats::default(),
        }
    }

    pub fn keypair(&self, slot: Slot) -> Option<&Keypair> {
        match slot {
            Slot::Previous => self.previous.as_deref(),
            Slot::Current => self.current.as_deref(),
            Slot::Next => self.next.as_deref(),
        }
    }

    pub fn keypair_mut(&mut self, slot: Slot) -> Option<&mut Keypair> {
        match slot {
            Slot::Previous => self.previous.as_deref_mut(),
            Slot::Current => self.current.as_deref_mut(),
            Slot::Next => self.next.as_deref_mut(),
        }
    }

    /// Which keypair carries our index `index`, if any.
    pub fn slot_of(&self, index: u32) -> Option<Slot> {
        [Slot::Current, Slot::Previous, Slot::Next]
            .into_iter()
            .find(|&s| self.keypair(s).map(|k| k.local_index) == Some(index))
    }

    /// The keypair to encrypt with, if one may still send.
    pub fn sending_keypair(&mut self, now: f64) -> Option<&mut Keypair> {
        self.current.as_deref_mut().filter(|k| k.can_send(now))
    }

    /// Holds a packet until a session exists; the oldest goes when full.
    pub fn stage(&mut self, packet: Vec<u8>) {
        while self.staged.len() >= MAX_STAGED_PACKETS {
            self.staged.pop_front();
        }
        self.staged.push_back(packet);
    }

    /// Asks for a keepalive: an empty staged packet, unless something is
    /// already waiting to go (any packet tells the other side we live).
    pub fn want_keepalive(&mut self) {
        if self.staged.is_empty() {
            self.staged.push_back(Vec::new());
        }
    }

    /// Asks for an initiation on the next poll (see `Initiation`). A due
    /// first attempt stays the first.
    pub fn want_handshake(&mut self, now: f64, why: Initiation) {
        let attempt = match why {
            Initiation::Retransmission => Attempt::Retransmission,
            Initiation::New | Initiation::Forced => {
                let recent = self
                    .last_initiation_sent
                    .map(|at| now - at < crate::messages::REKEY_TIMEOUT)
                    .unwrap_or(false);
                if recent && why == Initiation::New {
                    return;
                }
                if self.initiation_due.is_none() {
                    self.timers.handshake_wanted(now);
                }
                Attempt::First
            }
        };
        if self.initiation_due != Some(Attempt::First) {
            self.initiation_due = Some(attempt);
        }
    }

    /// The initiator's side of a completed handshake: the new keypair is
    /// used at once.
    pub fn install_as_initiator(&mut self, keypair: Box<Keypair>, indices: &mut IndexTable) {
        let old_previous = if let Some(next) = self.next.take() {
            release(indices, self.current.take());
            self.previous.replace(next)
        } else {
            let current = self.current.take();
            std::mem::replace(&mut self.previous, current)
        };
        release(indices, old_previous);
        self.current = Some(keypair);
        self.sent_last_minute_handshake = false;
    }

    /// The responder's side: the new keypair waits in `next` until the
    /// initiator uses it.
    pub fn install_as_responder(&mut self, keypair: Box<Keypair>, indices: &mut IndexTable) {
        release(indices, self.next.replace(keypair));
        release(indices, self.previous.take());
    }

    /// A packet decrypted under `next`: it becomes `current`.
    pub fn promote_next(&mut self, indices: &mut IndexTable) {
        if let Some(next) = self.next.take() {
            let old_current = self.current.replace(next);
            release(indices, std::mem::replace(&mut self.previous, old_current));
            self.sent_last_minute_handshake = false;
        }
    }

    /// Replaces any pending initiation state (its index is freed).
    pub fn set_handshake(&mut self, pending: Option<PendingHandshake>, indices: &mut IndexTable) {
        if let Some(old) = std::mem::replace(&mut self.handshake, pending) {
            indices.release(old.local_index);
        }
    }

    /// Wipes every key of this peer and forgets what was staged.
    pub fn zero_all(&mut self, indices: &mut IndexTable) {
        release(indices, self.previous.take());
        release(indices, self.current.take());
        release(indices, self.next.take());
        self.set_handshake(None, indices);
        self.staged.clear();
        self.initiation_due = None;
        self.rekey_due = false;
        self.timers.keys_zeroed();
    }

    /// Age of the current keypair in ms, if there is one.
    pub fn session_age(&self, now: f64) -> Option<f64> {
        self.current.as_ref().map(|k| now - k.created)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(psk) = self.psk.as_mut() {
            wipe(psk);
        }
    }
}

fn release(indices: &mut IndexTable, keypair: Option<Box<Keypair>>) {
    if let Some(k) = keypair {
        indices.release(k.local_index);
    }
}
