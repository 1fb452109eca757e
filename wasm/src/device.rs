//! The device: our identity, the peers, cryptokey routing, and the three
//! batch operations of the ABI (wasm/README.md "Batches").
//!
//! Outbound (`encrypt_batch`): IP packet → peer by destination (longest
//! prefix over AllowedIPs) → stage it if no session can send, else pad, seal
//! in place behind the transport header.
//!
//! Inbound (`decrypt_batch`), mirroring it: datagram → exact size and type →
//! initiation: MAC1, under load MAC2 or a cookie reply, consume, respond in
//! the same slot; response: MAC1, under load MAC2, consume, new session;
//! cookie reply: remember the cookie; transport: keypair by our index,
//! replay check, open in place, replay update, then the inner packet must be
//! IP with a consistent length and a source the peer may use.
//!
//! Control (`poll`): run the timers, then emit initiations, staged packets
//! and keepalives.
//!
//! Only authenticated packets move timers or the peer's endpoint (roaming).

use std::collections::{BTreeMap, VecDeque};

use crate::aead;
use crate::allowed_ips::AllowedIps;
use crate::cookie::{CookieChecker, RateLimiter};
use crate::ct::ct_eq;
use crate::messages::{
    Error, EventKind, Op, Reason, AEAD_TAG_LEN, COOKIE_REPLY_LEN, DESC_ENDPOINT, DESC_LEN,
    DESC_OFFSET, DESC_OP, DESC_PEER, DESC_REASON, DESC_WORDS, ENDPOINT_WORDS, HEADROOM,
    INITIATION_LEN, KEEPALIVE_TIMEOUT, MAX_INITIATIONS_PER_SECOND, MAX_PEERS, MSG_COOKIE_REPLY,
    MSG_INITIATION, MSG_RESPONSE, MSG_TRANSPORT, NO_PEER, PADDING_MULTIPLE, RESPONSE_LEN,
    TRANSPORT_HEADER_LEN, TRANSPORT_MIN_LEN, UNDER_LOAD_HANDSHAKES_PER_SECOND,
};
use crate::noise::{self, PeerStatic, StaticKeys};
use crate::peer::{Endpoint, IndexTable, Keypair, Peer, PendingHandshake, Slot};
use crate::rng::Drbg;
use crate::timers::jitter;

/// Events kept for `wg_events`; the oldest go first when full.
pub const EVENT_CAPACITY: usize = 1024;
/// Least time between two initiations to (or from) one peer.
const MIN_INITIATION_GAP: f64 = 1000.0 / MAX_INITIATIONS_PER_SECOND;
/// The largest packet the core stages (an IP packet cannot be longer).
const MAX_STAGED_LEN: usize = 65_535;

/// Load detection: `wg_device_set_load` modes.
pub const LOAD_AUTO: u32 = 0;
pub const LOAD_ALWAYS: u32 = 1;
pub const LOAD_NEVER: u32 = 2;

/// Decides whether the device is under load: by the `wg_device_set_load`
/// mode, or (auto) by the rate of handshake messages that passed MAC1, the
/// ones that can go on to cost a Diffie-Hellman. (The kernel measures the depth
/// of its handshake queue instead, which junk fills only while its workers
/// lag behind; this core has no queue, so it counts a rate, and junk must not
/// be part of it.)
struct LoadMeter {
    mode: u32,
    window_start: f64,
    count: u32,
    until: f64,
}

impl LoadMeter {
    fn new() -> Self {
        LoadMeter {
            mode: LOAD_AUTO,
            window_start: f64::NEG_INFINITY,
            count: 0,
            until: f64::NEG_INFINITY,
        }
    }

    /// Counts one handshake message with a valid MAC1; true while the
    /// device is under load. Call it only after MAC1 passed: junk that fails
    /// MAC1 must not make real peers pay a cookie round trip.
    fn count_valid_handshake(&mut self, now: f64) -> bool {
        match self.mode {
            LOAD_ALWAYS => true,
            LOAD_NEVER => false,
            _ => {
                if !(now - self.window_start < 1000.0) {
                    self.window_start = now;
                    self.count = 0;
                }
                self.count = self.count.saturating_add(1);
                if self.count > UNDER_LOAD_HANDSHAKES_PER_SECOND {
                    self.until = now + 1000.0;
                }
                now < self.until
            }
        }
    }
}

/// One event record: kind, peer, a, b.
pub type Event = [u32; 4];

/// The host's batch: `count` slots of `slot_size` bytes and their
/// descriptors (`DESC_WORDS` words each).
pub struct Batch<'a> {
    pub slots: &'a mut [u8],
    pub slot_size: usize,
    pub desc: &'a mut [u32],
    pub count: usize,
}

impl<'a> Batch<'a> {
    /// Checks that the buffers hold `count` slots and descriptors.
    pub fn new(
        slots: &'a mut [u8],
        slot_size: usize,
        desc: &'a mut [u32],
        count: usize,
    ) -> Result<Batch<'a>, Error> {
        let slot_bytes = slot_size.checked_mul(count).ok_or(Error::InvalidArgument)?;
        let desc_words = DESC_WORDS
            .checked_mul(count)
            .ok_or(Error::InvalidArgument)?;
        if slots.len() < slot_bytes || desc.len() < desc_words {
            return Err(Error::InvalidArgument);
        }
        Ok(Batch {
            slots,
            slot_size,
            desc,
            count,
        })
    }

    fn parts(&mut self, i: usize) -> (&mut [u8], &mut [u32]) {
        let slot = &mut self.slots[i * self.slot_size..(i + 1) * self.slot_size];
        let desc = &mut self.desc[i * DESC_WORDS..(i + 1) * DESC_WORDS];
        (slot, desc)
    }
}

/// What happens to one packet: written into its descriptor.
struct Outcome {
    op: Op,
    reason: Reason,
    peer: u32,
    offset: usize,
    len: usize,
    endpoint: Option<Endpoint>,
}

impl Outcome {
    fn drop(reason: Reason, peer: u32) -> Outcome {
        Outcome {
            op: Op::None,
            reason,
            peer,
            offset: 0,
            len: 0,
            endpoint: None,
        }
    }

    fn write(&self, desc: &mut [u32], keep_len: bool) {
        desc[DESC_OP] = self.op as u32;
        desc[DESC_REASON] = self.reason as u32;
        desc[DESC_PEER] = self.peer;
        if self.op != Op::None || !keep_len {
            desc[DESC_OFFSET] = self.offset as u32;
            desc[DESC_LEN] = self.len as u32;
        }
        if let Some(ep) = self.endpoint {
            desc[DESC_ENDPOINT..DESC_ENDPOINT + ENDPOINT_WORDS].copy_from_slice(&ep.0);
        }
    }
}

pub struct Device {
    rng: Drbg,
    keys: Option<StaticKeys>,
    checker: Option<CookieChecker>,
    limiter: RateLimiter,
    load: LoadMeter,
    /// Indexed by peer id; ids are never reused.
    peers: Vec<Option<Box<Peer>>>,
    by_key: BTreeMap<[u8; 32], u32>,
    indices: IndexTable,
    routes: AllowedIps<u32>,
    events: VecDeque<Event>,
    /// The last `wall` used for a TAI64N timestamp: ours strictly increase.
    last_timestamp_wall: f64,
    /// The latest `now` the host gave (for stats).
    last_now: f64,
}

impl Default for Device {
    fn default() -> Self {
        Device::new()
    }
}

impl Device {
    pub fn new() -> Device {
        Device {
            rng: Drbg::new(),
            keys: None,
            checker: None,
            limiter: RateLimiter::new(),
            load: LoadMeter::new(),
            peers: Vec::new(),
            by_key: BTreeMap::new(),
            indices: IndexTable::new(),
            routes: AllowedIps::new(),
            events: VecDeque::new(),
            last_timestamp_wall: f64::NEG_INFINITY,
            last_now: 0.0,
        }
    }

    // ---- Configuration ----

    pub fn entropy(&mut self, bytes: &[u8]) {
        self.rng.reseed(bytes);
    }

    /// Sets our static private key (clamped). Sessions made under the old
    /// identity are wiped; every peer's precomputation is redone.
    pub fn set_private_key(&mut self, key: &[u8; 32]) -> Result<(), Error> {
        let keys = StaticKeys::from_private(*key);
        if let Some(old) = &self.keys {
            if ct_eq(&old.private, &keys.private) {
                return Ok(());
            }
        }
        self.checker = Some(CookieChecker::new(&keys.public));
        for peer in self.peers.iter_mut().flatten() {
            peer.zero_all(&mut self.indices);
            peer.statik = if peer.public == keys.public {
                None
            } else {
                PeerStatic::new(&keys, peer.public, peer.psk).ok()
            };
        }
        self.keys = Some(keys);
        Ok(())
    }

    pub fn public_key(&self) -> Option<[u8; 32]> {
        self.keys.as_ref().map(|k| k.public)
    }

    pub fn set_load(&mut self, mode: u32) -> Result<(), Error> {
        if mode > LOAD_NEVER {
            return Err(Error::InvalidArgument);
        }
        self.load.mode = mode;
        Ok(())
    }

    pub fn add_peer(
        &mut self,
        public: [u8; 32],
        psk: Option<[u8; 32]>,
        keepalive_s: u32,
    ) -> Result<u32, Error> {
        if keepalive_s > 65_535 {
            return Err(Error::InvalidArgument);
        }
        if self.by_key.contains_key(&public) {
            return Err(Error::DuplicatePeer);
        }
        if self.peers.len() >= MAX_PEERS {
            return Err(Error::TooManyPeers);
        }
        let statik = match &self.keys {
            Some(keys) if keys.public == public => return Err(Error::InvalidArgument),
            Some(keys) => Some(PeerStatic::new(keys, public, psk)?),
            None => None,
        };
        let id = self.peers.len() as u32;
        let mut peer = Peer::new(id, public, psk, keepalive_s);
        peer.statik = statik;
        self.peers.push(Some(Box::new(peer)));
        self.by_key.insert(public, id);
        Ok(id)
    }

    pub fn remove_peer(&mut self, id: u32) -> Result<(), Error> {
        let mut peer = self
            .peers
            .get_mut(id as usize)
            .and_then(|p| p.take())
            .ok_or(Error::NoSuchPeer)?;
        peer.zero_all(&mut self.indices);
        self.routes.remove_value(id);
        self.by_key.remove(&peer.public);
        Ok(())
    }

    pub fn add_allowed_ip(&mut self, id: u32, addr: &[u8], prefix: u32) -> Result<(), Error> {
        self.peer(id)?;
        let max = match addr.len() {
            4 => 32,
            16 => 128,
            _ => return Err(Error::InvalidArgument),
        };
        if prefix > max {
            return Err(Error::BadPrefix);
        }
        self.routes.insert(addr, prefix as u8, id)
    }

    pub fn set_endpoint(&mut self, id: u32, endpoint: Endpoint) -> Result<(), Error> {
        if !endpoint.is_valid() {
            return Err(Error::InvalidArgument);
        }
        self.peer(id)?.endpoint = endpoint;
        Ok(())
    }

    pub fn endpoint(&mut self, id: u32) -> Result<Option<Endpoint>, Error> {
        let ep = self.peer(id)?.endpoint;
        Ok(if ep.is_set() { Some(ep) } else { None })
    }

    /// last handshake (wall ms, 0 never), rx bytes, tx bytes, handshakes,
    /// current session age (ms, -1 none), 3 reserved.
    pub fn stats(&mut self, id: u32) -> Result<[f64; 8], Error> {
        let now = self.last_now;
        let peer = self.peer(id)?;
        let s = peer.stats;
        let age = peer.session_age(now).unwrap_or(-1.0);
        Ok([
            s.last_handshake_wall,
            s.rx_bytes,
            s.tx_bytes,
            s.handshakes,
            age,
            0.0,
            0.0,
            0.0,
        ])
    }

    /// Starts a handshake now (emitted by the next `poll`).
    pub fn initiate(&mut self, id: u32, now: f64) -> Result<(), Error> {
        if self.keys.is_none() {
            return Err(Error::NoPrivateKey);
        }
        if !self.rng.is_seeded() {
            return Err(Error::NoEntropy);
        }
        self.last_now = now;
        self.peer(id)?.want_handshake(now, false, true);
        Ok(())
    }

    /// Moves up to `out.len()` events out of the ring; returns how many.
    pub fn drain_events(&mut self, out: &mut [Event]) -> usize {
        let mut n = 0;
        while n < out.len() {
            match self.events.pop_front() {
                Some(e) => out[n] = e,
                None => break,
            }
            n += 1;
        }
        n
    }

    fn peer(&mut self, id: u32) -> Result<&mut Peer, Error> {
        peer_mut(&mut self.peers, id).ok_or(Error::NoSuchPeer)
    }

    // ---- Outbound ----

    /// Seals every IP packet of the batch for its peer (see wasm/README.md).
    pub fn encrypt_batch(&mut self, batch: &mut Batch, now: f64) {
        self.last_now = now;
        for i in 0..batch.count {
            let (slot, desc) = batch.parts(i);
            let outcome = self.encrypt_one(
                slot,
                desc[DESC_OFFSET] as usize,
                desc[DESC_LEN] as usize,
                now,
            );
            outcome.write(desc, true);
        }
    }

    fn encrypt_one(&mut self, slot: &mut [u8], offset: usize, len: usize, now: f64) -> Outcome {
        if offset < HEADROOM || offset > slot.len() || len > slot.len() - offset {
            return Outcome::drop(Reason::Malformed, NO_PEER);
        }
        let destination = match ip_destination(&slot[offset..offset + len]) {
            Some(d) => d,
            None => return Outcome::drop(Reason::NotIp, NO_PEER),
        };
        let id = match self.routes.lookup(destination.bytes()) {
            Some(id) => id,
            None => return Outcome::drop(Reason::NoRoute, NO_PEER),
        };
        let padded = padded_len(len);
        if HEADROOM + padded + AEAD_TAG_LEN > slot.len() {
            return Outcome::drop(Reason::TooBig, id);
        }
        // Timers that ran out before this packet act first (keys zeroed long
        // ago must not wipe the packet staged now).
        self.run_timers(id as usize, now);
        let peer = match peer_mut(&mut self.peers, id) {
            Some(p) => p,
            None => return Outcome::drop(Reason::NoRoute, NO_PEER),
        };
        if !peer.endpoint.is_set() {
            return Outcome::drop(Reason::NoEndpoint, id);
        }
        if peer.sending_keypair(now).is_none() {
            if len > MAX_STAGED_LEN {
                return Outcome::drop(Reason::TooBig, id);
            }
            peer.stage(slot[offset..offset + len].to_vec());
            peer.want_handshake(now, false, false);
            return Outcome::drop(Reason::Staged, id);
        }
        if offset != HEADROOM {
            slot.copy_within(offset..offset + len, HEADROOM);
        }
        let sealed = seal_for(peer, slot, len, now, &mut self.rng);
        Outcome {
            op: Op::Network,
            reason: Reason::Ok,
            peer: id,
            offset: 0,
            len: sealed,
            endpoint: Some(peer.endpoint),
        }
    }

    // ---- Inbound ----

    /// Opens every datagram of the batch (see wasm/README.md).
    pub fn decrypt_batch(&mut self, batch: &mut Batch, now: f64, wall: f64) {
        self.last_now = now;
        for i in 0..batch.count {
            let (slot, desc) = batch.parts(i);
            let mut words = [0u32; ENDPOINT_WORDS];
            words.copy_from_slice(&desc[DESC_ENDPOINT..DESC_ENDPOINT + ENDPOINT_WORDS]);
            let source = Endpoint(words);
            let offset = desc[DESC_OFFSET] as usize;
            let len = desc[DESC_LEN] as usize;
            let outcome = if offset > slot.len() || len > slot.len() - offset {
                Outcome::drop(Reason::Malformed, NO_PEER)
            } else {
                self.decrypt_one(slot, offset, len, source, now, wall)
            };
            outcome.write(desc, true);
        }
    }

    fn decrypt_one(
        &mut self,
        slot: &mut [u8],
        offset: usize,
        len: usize,
        source: Endpoint,
        now: f64,
        wall: f64,
    ) -> Outcome {
        if len < 4 {
            return Outcome::drop(Reason::Malformed, NO_PEER);
        }
        // The three reserved bytes are the high bytes of the little-endian
        // type word: a known type implies they are zero.
        let kind = read_u32(&slot[offset..], 0);
        let handshake = kind == MSG_INITIATION || kind == MSG_RESPONSE;
        if handshake && !source.is_valid() {
            return Outcome::drop(Reason::Malformed, NO_PEER);
        }
        match (kind, len) {
            (MSG_INITIATION, INITIATION_LEN) => self.consume_initiation(slot, offset, source, now),
            (MSG_RESPONSE, RESPONSE_LEN) => self.consume_response(slot, offset, source, now, wall),
            (MSG_COOKIE_REPLY, COOKIE_REPLY_LEN) => {
                self.consume_cookie_reply(&slot[offset..offset + len], now)
            }
            (MSG_TRANSPORT, l) if l >= TRANSPORT_MIN_LEN => {
                self.consume_transport(slot, offset, len, source, now, wall)
            }
            _ => Outcome::drop(Reason::Malformed, NO_PEER),
        }
    }

    /// MAC1 first: a message that fails it costs one BLAKE2s and is dropped
    /// without counting toward load. Then, under load, MAC2 (else a cookie
    /// reply) and the per-source rate limit. `None` lets the message through.
    fn admit_handshake(
        &mut self,
        slot: &mut [u8],
        offset: usize,
        len: usize,
        source: Endpoint,
        now: f64,
    ) -> Option<Outcome> {
        let checker = match self.checker.as_mut() {
            Some(c) => c,
            None => return Some(Outcome::drop(Reason::HandshakeFailed, NO_PEER)),
        };
        let msg = &slot[offset..offset + len];
        if !checker.check_mac1(msg) {
            return Some(Outcome::drop(Reason::BadMac1, NO_PEER));
        }
        if !self.load.count_valid_handshake(now) {
            return None;
        }
        let (src, src_len) = source.cookie_source();
        if !checker.check_mac2(msg, &src[..src_len], now, &mut self.rng) {
            let sender = read_u32(msg, 4);
            let mut reply = [0u8; COOKIE_REPLY_LEN];
            if checker
                .create_reply(msg, sender, &src[..src_len], now, &mut self.rng, &mut reply)
                .is_err()
            {
                return Some(Outcome::drop(Reason::CookieSent, NO_PEER));
            }
            slot[..COOKIE_REPLY_LEN].copy_from_slice(&reply);
            return Some(Outcome {
                op: Op::Network,
                reason: Reason::CookieSent,
                peer: NO_PEER,
                offset: 0,
                len: COOKIE_REPLY_LEN,
                endpoint: Some(source),
            });
        }
        if !self.limiter.allow(&src[..src_len - 2], now) {
            return Some(Outcome::drop(Reason::RateLimited, NO_PEER));
        }
        None
    }

    fn consume_initiation(
        &mut self,
        slot: &mut [u8],
        offset: usize,
        source: Endpoint,
        now: f64,
    ) -> Outcome {
        if let Some(rejected) = self.admit_handshake(slot, offset, INITIATION_LEN, source, now) {
            return rejected;
        }
        let keys = match &self.keys {
            Some(k) => k,
            None => return Outcome::drop(Reason::HandshakeFailed, NO_PEER),
        };
        let mut msg = [0u8; INITIATION_LEN];
        msg.copy_from_slice(&slot[offset..offset + INITIATION_LEN]);
        let consumed = match noise::consume_initiation(keys, &msg) {
            Ok(c) => c,
            Err(reason) => return Outcome::drop(reason, NO_PEER),
        };
        let id = match self.by_key.get(&consumed.remote_static) {
            Some(&id) => id,
            None => return Outcome::drop(Reason::UnknownPeer, NO_PEER),
        };
        let peer = match peer_mut(&mut self.peers, id) {
            Some(p) => p,
            None => return Outcome::drop(Reason::UnknownPeer, NO_PEER),
        };
        let statik = match &peer.statik {
            Some(s) => s,
            None => return Outcome::drop(Reason::UnknownPeer, id),
        };
        // Whitepaper §5.1: a replayed initiation must not reset the session.
        if consumed.timestamp <= peer.last_timestamp {
            return Outcome::drop(Reason::StaleTimestamp, id);
        }
        if let Some(at) = peer.last_initiation_consumed {
            if now - at < MIN_INITIATION_GAP {
                return Outcome::drop(Reason::RateLimited, id);
            }
        }
        let timestamp = consumed.timestamp;
        let index = match self.indices.allocate(id, &mut self.rng) {
            Ok(i) => i,
            Err(_) => return Outcome::drop(Reason::HandshakeFailed, id),
        };
        let mut ephemeral = [0u8; 32];
        if self.rng.fill(&mut ephemeral).is_err() {
            self.indices.release(index);
            return Outcome::drop(Reason::HandshakeFailed, id);
        }
        let mut response = [0u8; RESPONSE_LEN];
        let session =
            match noise::create_response(consumed, keys, statik, index, ephemeral, &mut response) {
                Ok(s) => s,
                Err(_) => {
                    self.indices.release(index);
                    return Outcome::drop(Reason::HandshakeFailed, id);
                }
            };
        peer.cookie.add_macs(&mut response, now);
        peer.last_timestamp = timestamp;
        peer.last_initiation_consumed = Some(now);
        let mut keypair = Keypair::from_session(&session, now, false);
        keypair.local_index = index;
        drop(session);
        peer.install_as_responder(keypair, &mut self.indices);
        peer.timers.session_derived(now);
        peer.timers.authenticated_received();
        peer.timers.authenticated_sent();
        peer.timers.authenticated_traversal(now);
        peer.stats.rx_bytes += INITIATION_LEN as f64;
        peer.stats.tx_bytes += RESPONSE_LEN as f64;
        roam(peer, source, &mut self.events);
        slot[..RESPONSE_LEN].copy_from_slice(&response);
        Outcome {
            op: Op::Network,
            reason: Reason::Ok,
            peer: id,
            offset: 0,
            len: RESPONSE_LEN,
            endpoint: Some(source),
        }
    }

    fn consume_response(
        &mut self,
        slot: &mut [u8],
        offset: usize,
        source: Endpoint,
        now: f64,
        wall: f64,
    ) -> Outcome {
        if let Some(rejected) = self.admit_handshake(slot, offset, RESPONSE_LEN, source, now) {
            return rejected;
        }
        let mut msg = [0u8; RESPONSE_LEN];
        msg.copy_from_slice(&slot[offset..offset + RESPONSE_LEN]);
        let receiver = read_u32(&msg, 8);
        let id = match self.indices.peer_of(receiver) {
            Some(id) => id,
            None => return Outcome::drop(Reason::UnknownIndex, NO_PEER),
        };
        self.run_timers(id as usize, now);
        let keys = match &self.keys {
            Some(k) => k,
            None => return Outcome::drop(Reason::HandshakeFailed, NO_PEER),
        };
        let peer = match peer_mut(&mut self.peers, id) {
            Some(p) => p,
            None => return Outcome::drop(Reason::UnknownIndex, NO_PEER),
        };
        let (pending, statik) = match (&peer.handshake, &peer.statik) {
            (Some(h), Some(s)) if h.local_index == receiver => (h, s),
            _ => return Outcome::drop(Reason::UnknownIndex, id),
        };
        let session = match noise::consume_response(&pending.state, keys, statik, &msg) {
            Ok(s) => s,
            Err(reason) => return Outcome::drop(reason, id),
        };
        // The keypair keeps the handshake's index: take the handshake out
        // without releasing it.
        peer.handshake = None;
        let mut keypair = Keypair::from_session(&session, now, true);
        keypair.local_index = receiver;
        drop(session);
        peer.install_as_initiator(keypair, &mut self.indices);
        peer.timers.handshake_complete();
        peer.timers.session_derived(now);
        peer.timers.authenticated_received();
        peer.timers.authenticated_traversal(now);
        peer.stats.rx_bytes += RESPONSE_LEN as f64;
        peer.stats.last_handshake_wall = wall;
        peer.stats.handshakes += 1.0;
        // Tell the responder the session works: staged data, or a keepalive.
        peer.want_keepalive();
        push_event(&mut self.events, EventKind::SessionStarted, id, 1, 0);
        roam(peer, source, &mut self.events);
        Outcome::drop(Reason::HandshakeConsumed, id)
    }

    fn consume_cookie_reply(&mut self, msg: &[u8], now: f64) -> Outcome {
        let receiver = read_u32(msg, 4);
        let id = match self.indices.peer_of(receiver) {
            Some(id) => id,
            None => return Outcome::drop(Reason::UnknownIndex, NO_PEER),
        };
        let peer = match peer_mut(&mut self.peers, id) {
            Some(p) => p,
            None => return Outcome::drop(Reason::UnknownIndex, NO_PEER),
        };
        let mut reply = [0u8; COOKIE_REPLY_LEN];
        reply.copy_from_slice(msg);
        match peer.cookie.consume_reply(&reply, now) {
            Ok(()) => {
                push_event(&mut self.events, EventKind::CookieReceived, id, 0, 0);
                Outcome::drop(Reason::CookieConsumed, id)
            }
            Err(reason) => Outcome::drop(reason, id),
        }
    }

    fn consume_transport(
        &mut self,
        slot: &mut [u8],
        offset: usize,
        len: usize,
        source: Endpoint,
        now: f64,
        wall: f64,
    ) -> Outcome {
        let msg = &mut slot[offset..offset + len];
        let receiver = read_u32(msg, 4);
        let counter = read_u64(msg, 8);
        let id = match self.indices.peer_of(receiver) {
            Some(id) => id,
            None => return Outcome::drop(Reason::UnknownIndex, NO_PEER),
        };
        self.run_timers(id as usize, now);
        let peer = match peer_mut(&mut self.peers, id) {
            Some(p) => p,
            None => return Outcome::drop(Reason::UnknownIndex, NO_PEER),
        };
        let slot_kind = match peer.slot_of(receiver) {
            Some(s) => s,
            None => return Outcome::drop(Reason::UnknownIndex, id),
        };
        let keypair = match peer.keypair_mut(slot_kind) {
            Some(k) => k,
            None => return Outcome::drop(Reason::UnknownIndex, id),
        };
        if !keypair.can_receive(now) {
            return Outcome::drop(Reason::KeyExpired, id);
        }
        if !keypair.replay.check(counter) {
            return Outcome::drop(Reason::Replay, id);
        }
        let plain_len = len - TRANSPORT_MIN_LEN;
        let (body, tag) = msg[TRANSPORT_HEADER_LEN..].split_at_mut(plain_len);
        let mut tag16 = [0u8; AEAD_TAG_LEN];
        tag16.copy_from_slice(tag);
        if aead::open(&keypair.recv_key, counter, &[], body, &tag16).is_err() {
            return Outcome::drop(Reason::DecryptFailed, id);
        }
        if !keypair.replay.update(counter) {
            return Outcome::drop(Reason::Replay, id);
        }
        // Authenticated from here on.
        if slot_kind == Slot::Next {
            peer.promote_next(&mut self.indices);
            peer.timers.handshake_complete();
            peer.stats.last_handshake_wall = wall;
            peer.stats.handshakes += 1.0;
            push_event(&mut self.events, EventKind::SessionStarted, id, 0, 0);
        }
        let rekey = peer
            .current
            .as_ref()
            .map(|k| k.needs_rekey_receiving(now))
            .unwrap_or(false);
        if rekey && !peer.sent_last_minute_handshake {
            peer.sent_last_minute_handshake = true;
            peer.rekey_due = true;
            peer.want_handshake(now, false, false);
        }
        peer.timers.authenticated_received();
        peer.timers.authenticated_traversal(now);
        peer.stats.rx_bytes += len as f64;
        roam(peer, source, &mut self.events);
        if plain_len == 0 {
            return Outcome::drop(Reason::Keepalive, id);
        }
        peer.timers.data_received(now);
        let inner = &slot[offset + TRANSPORT_HEADER_LEN..offset + TRANSPORT_HEADER_LEN + plain_len];
        let (source_ip, ip_len) = match ip_source(inner) {
            Ok(v) => v,
            Err(reason) => return Outcome::drop(reason, id),
        };
        if self.routes.lookup(source_ip.bytes()) != Some(id) {
            return Outcome::drop(Reason::SourceNotAllowed, id);
        }
        Outcome {
            op: Op::Tun,
            reason: Reason::Ok,
            peer: id,
            offset: offset + TRANSPORT_HEADER_LEN,
            len: ip_len,
            endpoint: None,
        }
    }

    // ---- Control ----

    /// Runs the timers, then fills up to `batch.count` slots with packets
    /// to send. Returns how many.
    pub fn poll(&mut self, batch: &mut Batch, now: f64, wall: f64) -> usize {
        self.last_now = now;
        for id in 0..self.peers.len() {
            self.run_timers(id, now);
        }
        let mut used = 0;
        for id in 0..self.peers.len() {
            while used < batch.count {
                let (slot, desc) = batch.parts(used);
                match self.next_output(id, slot, now, wall) {
                    Some(outcome) => {
                        outcome.write(desc, false);
                        used += 1;
                    }
                    None => break,
                }
            }
            if used == batch.count {
                break;
            }
        }
        used
    }

    /// The earliest time `poll` has something to do.
    pub fn next_deadline(&self, now: f64) -> f64 {
        let mut next = f64::INFINITY;
        for peer in self.peers.iter().flatten() {
            next = next.min(peer.timers.next_deadline());
            if peer.initiation_due.is_some() {
                let gap = peer.last_initiation_sent.map(|at| at + MIN_INITIATION_GAP);
                next = next.min(gap.unwrap_or(now).max(now));
            }
            let can_send = peer
                .current
                .as_ref()
                .map(|k| k.can_send(now))
                .unwrap_or(false);
            if !peer.staged.is_empty() && can_send && peer.endpoint.is_set() {
                next = next.min(now);
            }
        }
        next
    }

    fn run_timers(&mut self, id: usize, now: f64) {
        let peer = match self.peers.get_mut(id).and_then(|p| p.as_deref_mut()) {
            Some(p) => p,
            None => return,
        };
        let expired = peer.timers.take_expired(now);
        if !expired.any() {
            return;
        }
        let id = id as u32;
        if expired.retransmit {
            if peer.timers.attempts_exhausted(now) {
                peer.timers.gave_up(now);
                peer.staged.clear();
                peer.initiation_due = None;
                peer.rekey_due = false;
                peer.set_handshake(None, &mut self.indices);
                push_event(&mut self.events, EventKind::HandshakeGaveUp, id, 0, 0);
            } else {
                peer.want_handshake(now, true, false);
            }
        }
        if expired.send_keepalive {
            peer.want_keepalive();
            if peer.timers.need_another_keepalive {
                peer.timers.need_another_keepalive = false;
                peer.timers.send_keepalive = Some(now + KEEPALIVE_TIMEOUT);
            }
        }
        if expired.new_handshake {
            peer.want_handshake(now, false, false);
        }
        if expired.persistent_keepalive {
            peer.want_keepalive();
        }
        if expired.zero_keys {
            peer.zero_all(&mut self.indices);
            push_event(&mut self.events, EventKind::KeysZeroed, id, 0, 0);
        }
    }

    /// The next packet peer `id` has to send, written into `slot`.
    fn next_output(&mut self, id: usize, slot: &mut [u8], now: f64, wall: f64) -> Option<Outcome> {
        let peer = self.peers.get_mut(id).and_then(|p| p.as_deref_mut())?;
        let can_send = peer.sending_keypair(now).is_some();
        // Staged packets need a session: start a handshake unless one is
        // already under way (the retransmit timer runs while it is).
        let idle = peer.initiation_due.is_none() && peer.timers.retransmit.is_none();
        if !peer.staged.is_empty() && !can_send && idle {
            peer.want_handshake(now, false, false);
        }
        if peer.initiation_due.is_some() {
            if let Some(at) = peer.last_initiation_sent {
                if now - at < MIN_INITIATION_GAP {
                    return self.next_data(id, slot, now);
                }
            }
            if let Some(outcome) = self.create_initiation(id, slot, now, wall) {
                return Some(outcome);
            }
        }
        self.next_data(id, slot, now)
    }

    /// A staged packet (or keepalive) sealed into `slot`, if a session can
    /// send it.
    fn next_data(&mut self, id: usize, slot: &mut [u8], now: f64) -> Option<Outcome> {
        let peer = self.peers.get_mut(id).and_then(|p| p.as_deref_mut())?;
        if !peer.endpoint.is_set() || peer.sending_keypair(now).is_none() {
            return None;
        }
        loop {
            let packet = peer.staged.pop_front()?;
            let len = packet.len();
            if HEADROOM + padded_len(len) + AEAD_TAG_LEN > slot.len() {
                continue;
            }
            slot[HEADROOM..HEADROOM + len].copy_from_slice(&packet);
            let sealed = seal_for(peer, slot, len, now, &mut self.rng);
            return Some(Outcome {
                op: Op::Network,
                reason: if len == 0 {
                    Reason::Keepalive
                } else {
                    Reason::Ok
                },
                peer: id as u32,
                offset: 0,
                len: sealed,
                endpoint: Some(peer.endpoint),
            });
        }
    }

    /// Builds the due initiation of peer `id` into `slot`. `None` when it
    /// cannot be sent (no endpoint, no key, slot too small); the retransmit
    /// timer still runs so that the attempt eventually gives up.
    fn create_initiation(
        &mut self,
        id: usize,
        slot: &mut [u8],
        now: f64,
        wall: f64,
    ) -> Option<Outcome> {
        let jitter_ms = self.jitter();
        let wall = if wall > self.last_timestamp_wall {
            wall
        } else {
            self.last_timestamp_wall + 1.0
        };
        let peer = self.peers.get_mut(id).and_then(|p| p.as_deref_mut())?;
        let retransmission = peer.initiation_due.take()?;
        let rekey = std::mem::replace(&mut peer.rekey_due, false);
        peer.last_initiation_sent = Some(now);
        peer.timers.handshake_initiated(now, jitter_ms);
        let (keys, statik) = match (&self.keys, &peer.statik) {
            (Some(k), Some(s)) if peer.endpoint.is_set() && slot.len() >= INITIATION_LEN => (k, s),
            _ => return None,
        };
        let index = self.indices.allocate(id as u32, &mut self.rng).ok()?;
        let mut ephemeral = [0u8; 32];
        if self.rng.fill(&mut ephemeral).is_err() {
            self.indices.release(index);
            return None;
        }
        let timestamp = crate::tai64n::tai64n(wall);
        let mut msg = [0u8; INITIATION_LEN];
        let state =
            match noise::create_initiation(keys, statik, index, ephemeral, timestamp, &mut msg) {
                Ok(s) => s,
                Err(_) => {
                    self.indices.release(index);
                    return None;
                }
            };
        self.last_timestamp_wall = wall;
        peer.cookie.add_macs(&mut msg, now);
        peer.set_handshake(
            Some(PendingHandshake {
                state,
                local_index: index,
            }),
            &mut self.indices,
        );
        peer.timers.authenticated_sent();
        peer.timers.authenticated_traversal(now);
        peer.stats.tx_bytes += INITIATION_LEN as f64;
        slot[..INITIATION_LEN].copy_from_slice(&msg);
        if rekey {
            push_event(&mut self.events, EventKind::RekeyStarted, id as u32, 0, 0);
        }
        push_event(
            &mut self.events,
            EventKind::HandshakeSent,
            id as u32,
            retransmission as u32,
            0,
        );
        Some(Outcome {
            op: Op::Network,
            reason: Reason::Ok,
            peer: id as u32,
            offset: 0,
            len: INITIATION_LEN,
            endpoint: Some(peer.endpoint),
        })
    }

    fn jitter(&mut self) -> f64 {
        jitter(self.rng.next_u32().unwrap_or(0))
    }
}

/// Seals the `len`-byte plaintext at `slot[HEADROOM..]` with the peer's
/// current keypair (which the caller checked can send): pads it, writes
/// the header in front and the tag behind. Returns the message length.
fn seal_for(peer: &mut Peer, slot: &mut [u8], len: usize, now: f64, rng: &mut Drbg) -> usize {
    let padded = padded_len(len);
    for b in &mut slot[HEADROOM + len..HEADROOM + padded] {
        *b = 0;
    }
    let (counter, rekey) = match peer.current.as_deref_mut() {
        Some(k) => {
            let counter = k.send_counter;
            k.send_counter += 1;
            slot[0..4].copy_from_slice(&MSG_TRANSPORT.to_le_bytes());
            slot[4..8].copy_from_slice(&k.remote_index.to_le_bytes());
            slot[8..16].copy_from_slice(&counter.to_le_bytes());
            let tag = aead::seal(
                &k.send_key,
                counter,
                &[],
                &mut slot[HEADROOM..HEADROOM + padded],
            );
            slot[HEADROOM + padded..HEADROOM + padded + AEAD_TAG_LEN].copy_from_slice(&tag);
            (counter, k.needs_rekey_sending(now))
        }
        None => return 0,
    };
    let _ = counter;
    let total = HEADROOM + padded + AEAD_TAG_LEN;
    if len > 0 && peer.timers.new_handshake.is_none() {
        peer.timers
            .data_sent(now, jitter(rng.next_u32().unwrap_or(0)));
    }
    peer.timers.authenticated_sent();
    peer.timers.authenticated_traversal(now);
    peer.stats.tx_bytes += total as f64;
    if rekey {
        peer.rekey_due = true;
        peer.want_handshake(now, false, false);
    }
    total
}

/// Moves the peer's endpoint to where an authenticated packet came from.
/// The live peer with this id. A free function, so that callers may hold
/// other fields of the device (its keys, its indices) at the same time.
fn peer_mut(peers: &mut [Option<Box<Peer>>], id: u32) -> Option<&mut Peer> {
    peers.get_mut(id as usize).and_then(|p| p.as_deref_mut())
}

fn roam(peer: &mut Peer, source: Endpoint, events: &mut VecDeque<Event>) {
    if source.is_set() && source != peer.endpoint {
        peer.endpoint = source;
        push_event(events, EventKind::EndpointChanged, peer.id, 0, 0);
    }
}

fn push_event(events: &mut VecDeque<Event>, kind: EventKind, peer: u32, a: u32, b: u32) {
    while events.len() >= EVENT_CAPACITY {
        events.pop_front();
    }
    events.push_back([kind as u32, peer, a, b]);
}

fn padded_len(len: usize) -> usize {
    (len + PADDING_MULTIPLE - 1) / PADDING_MULTIPLE * PADDING_MULTIPLE
}

fn read_u32(buf: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[at..at + 4]);
    u32::from_le_bytes(b)
}

fn read_u64(buf: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    u64::from_le_bytes(b)
}

/// An IPv4 or IPv6 address taken from a packet header.
#[derive(Clone, Copy)]
enum IpAddr {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl IpAddr {
    fn bytes(&self) -> &[u8] {
        match self {
            IpAddr::V4(a) => a,
            IpAddr::V6(a) => a,
        }
    }
}

/// The destination of an outbound IP packet, if it is one.
fn ip_destination(packet: &[u8]) -> Option<IpAddr> {
    match packet.first()? >> 4 {
        4 if packet.len() >= 20 => {
            let mut a = [0u8; 4];
            a.copy_from_slice(&packet[16..20]);
            Some(IpAddr::V4(a))
        }
        6 if packet.len() >= 40 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&packet[24..40]);
            Some(IpAddr::V6(a))
        }
        _ => None,
    }
}

/// The source and the header's total length of a decrypted inner packet
/// (padding beyond it is trimmed).
fn ip_source(packet: &[u8]) -> Result<(IpAddr, usize), Reason> {
    match packet.first().map(|b| b >> 4) {
        Some(4) => {
            if packet.len() < 20 {
                return Err(Reason::BadIpLength);
            }
            let total = u16::from_be_bytes([packet[2], packet[3]]) as usize;
            let header = ((packet[0] & 0x0F) as usize) * 4;
            if total < 20 || header < 20 || header > total || total > packet.len() {
                return Err(Reason::BadIpLength);
            }
            let mut a = [0u8; 4];
            a.copy_from_slice(&packet[12..16]);
            Ok((IpAddr::V4(a), total))
        }
        Some(6) => {
            if packet.len() < 40 {
                return Err(Reason::BadIpLength);
            }
            let total = 40 + u16::from_be_bytes([packet[4], packet[5]]) as usize;
            if total > packet.len() {
                return Err(Reason::BadIpLength);
            }
            let mut a = [0u8; 16];
            a.copy_from_slice(&packet[8..24]);
            Ok((IpAddr::V6(a), total))
        }
        _ => Err(Reason::NotIp),
    }
}

#[cfg(test)]
mod tests {
    //! Two devices wired back to back in memory, with an injected clock.

    use super::*;
    use crate::messages::{
        MAX_STAGED_PACKETS, REJECT_AFTER_TIME, REKEY_AFTER_TIME, REKEY_ATTEMPT_TIME, REKEY_TIMEOUT,
        REKEY_TIMEOUT_JITTER_MAX, ZERO_KEYS_AFTER,
    };
    use crate::test_rand::Rand;

    const SLOT: usize = 2048;

    /// One packet after the device handled it: its descriptor and bytes.
    #[derive(Clone, Debug)]
    struct Packet {
        op: u32,
        reason: u32,
        peer: u32,
        bytes: Vec<u8>,
        endpoint: Endpoint,
    }

    fn endpoint(last: u8, port: u32) -> Endpoint {
        Endpoint([4, port, 0, u32::from_le_bytes([127, 0, 0, last]), 0, 0, 0])
    }

    fn ipv4(src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
        let total = 20 + payload.len();
        let mut p = vec![0u8; total];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p[8] = 64;
        p[9] = 17;
        p[12..16].copy_from_slice(&src);
        p[16..20].copy_from_slice(&dst);
        p[20..].copy_from_slice(payload);
        p
    }

    fn run(
        dev: &mut Device,
        inputs: &[(Vec<u8>, Endpoint)],
        offset: usize,
        f: impl FnOnce(&mut Device, &mut Batch),
    ) -> Vec<Packet> {
        let count = inputs.len();
        let mut slots = vec![0u8; SLOT * count];
        let mut desc = vec![0u32; DESC_WORDS * count];
        for (i, (bytes, ep)) in inputs.iter().enumerate() {
            slots[i * SLOT + offset..i * SLOT + offset + bytes.len()].copy_from_slice(bytes);
            let d = &mut desc[i * DESC_WORDS..(i + 1) * DESC_WORDS];
            d[DESC_OFFSET] = offset as u32;
            d[DESC_LEN] = bytes.len() as u32;
            d[DESC_ENDPOINT..DESC_ENDPOINT + ENDPOINT_WORDS].copy_from_slice(&ep.0);
        }
        let mut batch = Batch::new(&mut slots, SLOT, &mut desc, count).unwrap();
        f(dev, &mut batch);
        collect(&slots, &desc, count)
    }

    fn collect(slots: &[u8], desc: &[u32], n: usize) -> Vec<Packet> {
        (0..n)
            .map(|i| {
                let d = &desc[i * DESC_WORDS..(i + 1) * DESC_WORDS];
                let start = i * SLOT + d[DESC_OFFSET] as usize;
                let mut ep = [0u32; ENDPOINT_WORDS];
                ep.copy_from_slice(&d[DESC_ENDPOINT..DESC_ENDPOINT + ENDPOINT_WORDS]);
                Packet {
                    op: d[DESC_OP],
                    reason: d[DESC_REASON],
                    peer: d[DESC_PEER],
                    bytes: slots[start..start + d[DESC_LEN] as usize].to_vec(),
                    endpoint: Endpoint(ep),
                }
            })
            .collect()
    }

    fn encrypt(dev: &mut Device, ip: &[u8], now: f64) -> Packet {
        let input = [(ip.to_vec(), Endpoint::default())];
        run(dev, &input, HEADROOM, |d, b| d.encrypt_batch(b, now)).remove(0)
    }

    fn decrypt(dev: &mut Device, msg: &[u8], from: Endpoint, now: f64) -> Packet {
        let input = [(msg.to_vec(), from)];
        run(dev, &input, 0, |d, b| d.decrypt_batch(b, now, WALL + now)).remove(0)
    }

    fn poll(dev: &mut Device, now: f64) -> Vec<Packet> {
        let count = 8;
        let mut slots = vec![0u8; SLOT * count];
        let mut desc = vec![0u32; DESC_WORDS * count];
        let n = {
            let mut batch = Batch::new(&mut slots, SLOT, &mut desc, count).unwrap();
            dev.poll(&mut batch, now, WALL + now)
        };
        collect(&slots, &desc, n)
    }

    fn events(dev: &mut Device) -> Vec<Event> {
        let mut out = [[0u32; 4]; 64];
        let n = dev.drain_events(&mut out);
        out[..n].to_vec()
    }

    fn has_event(events: &[Event], kind: EventKind) -> bool {
        events.iter().any(|e| e[0] == kind as u32)
    }

    const WALL: f64 = 1_700_000_000_000.0;
    const A_IP: [u8; 4] = [10, 0, 0, 1];
    const B_IP: [u8; 4] = [10, 0, 0, 2];

    /// Device A (10.0.0.1, 127.0.0.1:1000) and B (10.0.0.2, 127.0.0.2:2000),
    /// each with the other as its only peer (id 0).
    struct Pair {
        a: Device,
        b: Device,
    }

    fn device(seed: u8, private: u8) -> Device {
        let mut d = Device::new();
        d.entropy(&[seed; 64]);
        d.set_private_key(&[private; 32]).unwrap();
        d
    }

    fn pair_with(psk_a: Option<[u8; 32]>, psk_b: Option<[u8; 32]>, keepalive: u32) -> Pair {
        let mut a = device(1, 0x11);
        let mut b = device(2, 0x22);
        let pa = a.public_key().unwrap();
        let pb = b.public_key().unwrap();
        assert_eq!(a.add_peer(pb, psk_a, keepalive), Ok(0));
        assert_eq!(b.add_peer(pa, psk_b, 0), Ok(0));
        a.add_allowed_ip(0, &B_IP, 32).unwrap();
        b.add_allowed_ip(0, &A_IP, 32).unwrap();
        a.set_endpoint(0, b_ep()).unwrap();
        b.set_endpoint(0, a_ep()).unwrap();
        Pair { a, b }
    }

    fn pair() -> Pair {
        pair_with(None, None, 0)
    }

    fn a_ep() -> Endpoint {
        endpoint(1, 1000)
    }

    fn b_ep() -> Endpoint {
        endpoint(2, 2000)
    }

    impl Pair {
        /// Moves every Network packet until both sides are quiet; returns
        /// what each side wrote to its TUN (A's, B's).
        fn pump(&mut self, first: Vec<(bool, Packet)>, now: f64) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
            let mut queue: VecDeque<(bool, Packet)> = first.into();
            let (mut tun_a, mut tun_b) = (Vec::new(), Vec::new());
            loop {
                while let Some((from_a, p)) = queue.pop_front() {
                    if p.op != Op::Network as u32 {
                        continue;
                    }
                    let (dev, src) = if from_a {
                        (&mut self.b, a_ep())
                    } else {
                        (&mut self.a, b_ep())
                    };
                    let out = decrypt(dev, &p.bytes, src, now);
                    if out.op == Op::Tun as u32 {
                        if from_a { &mut tun_b } else { &mut tun_a }.push(out.bytes.clone());
                    }
                    queue.push_back((!from_a, out));
                }
                for p in poll(&mut self.a, now) {
                    queue.push_back((true, p));
                }
                for p in poll(&mut self.b, now) {
                    queue.push_back((false, p));
                }
                if queue.is_empty() {
                    return (tun_a, tun_b);
                }
            }
        }

        /// A sends `payload` to B through the tunnel (a handshake first if needed).
        fn a_to_b(&mut self, payload: &[u8], now: f64) -> Vec<Vec<u8>> {
            let p = encrypt(&mut self.a, &ipv4(A_IP, B_IP, payload), now);
            self.pump(vec![(true, p)], now).1
        }

        fn b_to_a(&mut self, payload: &[u8], now: f64) -> Vec<Vec<u8>> {
            let p = encrypt(&mut self.b, &ipv4(B_IP, A_IP, payload), now);
            self.pump(vec![(false, p)], now).0
        }
    }

    #[test]
    fn first_packet_is_staged_then_delivered_after_the_handshake() {
        let mut n = pair();
        let ip = ipv4(A_IP, B_IP, b"hello");
        let staged = encrypt(&mut n.a, &ip, 0.0);
        assert_eq!(staged.reason, Reason::Staged as u32);
        assert_eq!(staged.op, Op::None as u32);
        assert_eq!(n.a.next_deadline(0.0), 0.0);
        let init = poll(&mut n.a, 0.0);
        assert_eq!(init.len(), 1);
        assert_eq!(init[0].bytes.len(), INITIATION_LEN);
        assert_eq!(init[0].endpoint, b_ep());
        let resp = decrypt(&mut n.b, &init[0].bytes, a_ep(), 1.0);
        assert_eq!(resp.op, Op::Network as u32);
        assert_eq!(resp.bytes.len(), RESPONSE_LEN);
        assert_eq!(resp.endpoint, a_ep());
        let done = decrypt(&mut n.a, &resp.bytes, b_ep(), 2.0);
        assert_eq!(done.reason, Reason::HandshakeConsumed as u32);
        assert!(has_event(&events(&mut n.a), EventKind::SessionStarted));
        let data = poll(&mut n.a, 2.0);
        assert_eq!(data.len(), 1);
        assert_eq!(data[0].bytes.len(), 16 + 32 + 16);
        let got = decrypt(&mut n.b, &data[0].bytes, a_ep(), 3.0);
        assert_eq!(got.op, Op::Tun as u32);
        assert_eq!(got.bytes, ip);
        assert!(has_event(&events(&mut n.b), EventKind::SessionStarted));
        assert_eq!(n.b_to_a(b"back", 4.0), vec![ipv4(B_IP, A_IP, b"back")]);
        let stats = n.a.stats(0).unwrap();
        assert_eq!(stats[0], WALL + 2.0);
        assert_eq!(stats[3], 1.0);
    }

    #[test]
    fn at_most_128_packets_wait_for_a_handshake_and_the_oldest_go_first() {
        let mut n = pair();
        let packet = |i: u32| ipv4(A_IP, B_IP, &i.to_be_bytes());
        for i in 0..200 {
            let out = encrypt(&mut n.a, &packet(i), 0.0);
            assert_eq!(out.reason, Reason::Staged as u32);
        }
        let (_, tun_b) = n.pump(Vec::new(), 0.0);
        let newest: Vec<Vec<u8>> = (200 - MAX_STAGED_PACKETS as u32..200).map(packet).collect();
        assert_eq!(tun_b, newest);
    }

    #[test]
    fn preshared_keys_must_match() {
        let mut same = pair_with(Some([7; 32]), Some([7; 32]), 0);
        assert_eq!(same.a_to_b(b"x", 0.0).len(), 1);
        let mut differ = pair_with(Some([7; 32]), Some([8; 32]), 0);
        encrypt(&mut differ.a, &ipv4(A_IP, B_IP, b"x"), 0.0);
        let init = poll(&mut differ.a, 0.0);
        let resp = decrypt(&mut differ.b, &init[0].bytes, a_ep(), 0.0);
        assert_eq!(resp.op, Op::Network as u32);
        let fail = decrypt(&mut differ.a, &resp.bytes, b_ep(), 0.0);
        assert_eq!(fail.reason, Reason::HandshakeFailed as u32);
    }

    #[test]
    fn replayed_transport_is_dropped_and_reordering_within_the_window_is_fine() {
        let mut n = pair();
        n.a_to_b(b"start", 0.0);
        let p1 = encrypt(&mut n.a, &ipv4(A_IP, B_IP, b"one"), 1.0);
        let p2 = encrypt(&mut n.a, &ipv4(A_IP, B_IP, b"two"), 1.0);
        assert_eq!(decrypt(&mut n.b, &p2.bytes, a_ep(), 2.0).op, Op::Tun as u32);
        assert_eq!(decrypt(&mut n.b, &p1.bytes, a_ep(), 2.0).op, Op::Tun as u32);
        let again = decrypt(&mut n.b, &p1.bytes, a_ep(), 2.0);
        assert_eq!(again.reason, Reason::Replay as u32);
    }

    #[test]
    fn tampered_truncated_and_unknown_messages_are_dropped_with_their_reason() {
        let mut n = pair();
        n.a_to_b(b"start", 0.0);
        let p = encrypt(&mut n.a, &ipv4(A_IP, B_IP, b"payload"), 1.0);
        let mut flipped = p.bytes.clone();
        flipped[20] ^= 1;
        assert_eq!(
            decrypt(&mut n.b, &flipped, a_ep(), 1.0).reason,
            Reason::DecryptFailed as u32
        );
        assert_eq!(
            decrypt(&mut n.b, &p.bytes[..31], a_ep(), 1.0).reason,
            Reason::Malformed as u32
        );
        let mut unknown_index = p.bytes.clone();
        unknown_index[4] ^= 0xFF;
        assert_eq!(
            decrypt(&mut n.b, &unknown_index, a_ep(), 1.0).reason,
            Reason::UnknownIndex as u32
        );
        let mut reserved = p.bytes.clone();
        reserved[1] = 1;
        assert_eq!(
            decrypt(&mut n.b, &reserved, a_ep(), 1.0).reason,
            Reason::Malformed as u32
        );
        let mut short_init = vec![0u8; 147];
        short_init[0] = 1;
        assert_eq!(
            decrypt(&mut n.b, &short_init, a_ep(), 1.0).reason,
            Reason::Malformed as u32
        );
        // The untouched packet still decrypts: nothing above moved the window.
        assert_eq!(decrypt(&mut n.b, &p.bytes, a_ep(), 1.0).op, Op::Tun as u32);
    }

    #[test]
    fn inner_packets_must_come_from_an_allowed_source_and_be_ip() {
        let mut n = pair();
        n.a_to_b(b"start", 0.0);
        // A's peer config allows B_IP only as a destination; craft from B a
        // packet whose source B's own config does not own.
        n.b.add_allowed_ip(0, &[10, 0, 0, 0], 8).unwrap();
        let spoof = encrypt(&mut n.a, &ipv4([10, 9, 9, 9], B_IP, b"x"), 1.0);
        let got = decrypt(&mut n.b, &spoof.bytes, a_ep(), 1.0);
        assert_eq!(got.op, Op::Tun as u32, "10/8 now belongs to A on B");
        let mut c = pair();
        c.a_to_b(b"start", 0.0);
        let spoof = encrypt(&mut c.a, &ipv4([10, 9, 9, 9], B_IP, b"x"), 1.0);
        let got = decrypt(&mut c.b, &spoof.bytes, a_ep(), 1.0);
        assert_eq!(got.reason, Reason::SourceNotAllowed as u32);
        let mut bad_len = ipv4(A_IP, B_IP, b"abcdef");
        bad_len[2..4].copy_from_slice(&100u16.to_be_bytes());
        let p = encrypt(&mut c.a, &bad_len, 1.0);
        assert_eq!(
            decrypt(&mut c.b, &p.bytes, a_ep(), 1.0).reason,
            Reason::BadIpLength as u32
        );
    }

    #[test]
    fn padding_is_trimmed_by_the_ip_length() {
        let mut n = pair();
        let ip = ipv4(A_IP, B_IP, b"abc");
        let got = n.a_to_b(b"abc", 0.0);
        assert_eq!(got, vec![ip.clone()]);
        let p = encrypt(&mut n.a, &ip, 1.0);
        assert_eq!(p.bytes.len(), 16 + 32 + 16, "23 bytes pad to 32");
    }

    #[test]
    fn no_route_and_no_endpoint_are_reported() {
        let mut n = pair();
        assert_eq!(
            encrypt(&mut n.a, &ipv4(A_IP, [10, 0, 0, 99], b"x"), 0.0).reason,
            Reason::NoRoute as u32
        );
        let mut a = device(1, 0x11);
        a.add_peer([5; 32], None, 0).unwrap();
        a.add_allowed_ip(0, &B_IP, 32).unwrap();
        assert_eq!(
            encrypt(&mut a, &ipv4(A_IP, B_IP, b"x"), 0.0).reason,
            Reason::NoEndpoint as u32
        );
        assert_eq!(
            encrypt(&mut a, &[0x45, 0, 0], 0.0).reason,
            Reason::NotIp as u32
        );
    }

    #[test]
    fn initiator_rekeys_after_rekey_after_time_when_sending() {
        let mut n = pair();
        n.a_to_b(b"start", 0.0);
        events(&mut n.a);
        let t = REKEY_AFTER_TIME + 1.0;
        let p = encrypt(&mut n.a, &ipv4(A_IP, B_IP, b"late"), t);
        assert_eq!(p.op, Op::Network as u32, "the old session still sends");
        let out = poll(&mut n.a, t);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].bytes.len(), INITIATION_LEN);
        let ev = events(&mut n.a);
        assert!(has_event(&ev, EventKind::RekeyStarted));
        assert!(has_event(&ev, EventKind::HandshakeSent));
    }

    #[test]
    fn sessions_are_rejected_after_reject_after_time() {
        let mut n = pair();
        n.a_to_b(b"start", 0.0);
        let old = encrypt(&mut n.a, &ipv4(A_IP, B_IP, b"old"), 1.0);
        let t = REJECT_AFTER_TIME;
        assert_eq!(
            decrypt(&mut n.b, &old.bytes, a_ep(), t).reason,
            Reason::KeyExpired as u32
        );
        let p = encrypt(&mut n.a, &ipv4(A_IP, B_IP, b"late"), t);
        assert_eq!(p.reason, Reason::Staged as u32);
    }

    #[test]
    fn receive_only_traffic_gets_a_keepalive_after_ten_seconds() {
        let mut n = pair();
        n.a_to_b(b"start", 0.0);
        poll(&mut n.b, 0.0);
        assert!(poll(&mut n.b, 9_999.0).is_empty());
        let ka = poll(&mut n.b, 10_000.0);
        assert_eq!(ka.len(), 1);
        assert_eq!(ka[0].reason, Reason::Keepalive as u32);
        assert_eq!(ka[0].bytes.len(), 32);
        let got = decrypt(&mut n.a, &ka[0].bytes, b_ep(), 10_001.0);
        assert_eq!(got.reason, Reason::Keepalive as u32);
        assert!(
            poll(&mut n.b, 30_000.0).is_empty(),
            "one keepalive per receive burst"
        );
    }

    #[test]
    fn sending_without_reply_starts_a_new_handshake_after_fifteen_seconds() {
        let mut n = pair();
        n.a_to_b(b"start", 0.0);
        // B's keepalive answers the first packet and disarms A's timer.
        n.pump(Vec::new(), KEEPALIVE_TIMEOUT);
        encrypt(&mut n.a, &ipv4(A_IP, B_IP, b"lost"), 11_000.0);
        assert!(poll(&mut n.a, 11_000.0 + 14_999.0).is_empty());
        let out = poll(&mut n.a, 11_000.0 + 15_000.0 + REKEY_TIMEOUT_JITTER_MAX);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].bytes.len(), INITIATION_LEN);
    }

    #[test]
    fn persistent_keepalive_is_sent_every_interval() {
        let mut n = pair_with(None, None, 25);
        n.a_to_b(b"start", 0.0);
        n.pump(Vec::new(), KEEPALIVE_TIMEOUT);
        assert!(poll(&mut n.a, 34_999.0).is_empty());
        let out = poll(&mut n.a, 35_000.0);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].reason, Reason::Keepalive as u32);
        assert!(poll(&mut n.a, 59_999.0).is_empty());
        assert_eq!(poll(&mut n.a, 60_000.0).len(), 1);
    }

    #[test]
    fn initiations_are_retransmitted_with_jitter_then_given_up() {
        let mut n = pair();
        encrypt(&mut n.a, &ipv4(A_IP, B_IP, b"x"), 0.0);
        let mut sent = Vec::new();
        let mut now = 0.0;
        while now < REKEY_ATTEMPT_TIME + 20_000.0 {
            let out = poll(&mut n.a, now);
            if out.iter().any(|p| p.bytes.len() == INITIATION_LEN) {
                sent.push(now);
            }
            now += 1.0;
        }
        for w in sent.windows(2) {
            let gap = w[1] - w[0];
            assert!(
                gap >= REKEY_TIMEOUT && gap <= REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX + 1.0,
                "gap {}",
                gap
            );
        }
        let last = *sent.last().unwrap();
        assert!(last < REKEY_ATTEMPT_TIME, "last initiation at {}", last);
        assert!(sent.len() >= 16, "{} initiations", sent.len());
        let ev = events(&mut n.a);
        assert!(has_event(&ev, EventKind::HandshakeGaveUp));
        let retrans = ev
            .iter()
            .filter(|e| e[0] == EventKind::HandshakeSent as u32 && e[2] == 1);
        assert_eq!(retrans.count(), sent.len() - 1);
        assert!(
            n.a.peers[0].as_ref().unwrap().staged.is_empty(),
            "staged packets dropped"
        );
    }

    #[test]
    fn keys_are_zeroed_after_three_reject_times() {
        let mut n = pair();
        n.a_to_b(b"start", 0.0);
        poll(&mut n.a, ZERO_KEYS_AFTER - 1.0);
        assert!(n.a.peers[0].as_ref().unwrap().current.is_some());
        events(&mut n.a);
        poll(&mut n.a, ZERO_KEYS_AFTER + 1.0);
        assert!(n.a.peers[0].as_ref().unwrap().current.is_none());
        assert!(has_event(&events(&mut n.a), EventKind::KeysZeroed));
        assert!(n.a.indices.is_empty());
    }

    #[test]
    fn a_packet_sent_long_after_the_keys_expired_survives_the_late_timer() {
        let mut n = pair();
        n.a_to_b(b"start", 0.0);
        let late = ZERO_KEYS_AFTER * 4.0;
        let staged = encrypt(&mut n.a, &ipv4(A_IP, B_IP, b"late"), late);
        assert_eq!(staged.reason, Reason::Staged as u32);
        let (_, tun_b) = n.pump(Vec::new(), late);
        assert_eq!(tun_b, vec![ipv4(A_IP, B_IP, b"late")]);
    }

    #[test]
    fn rotation_keeps_packets_in_flight_under_the_old_keypair() {
        let mut n = pair();
        n.a_to_b(b"start", 0.0);
        n.b_to_a(b"ack", 0.0);
        let old_a = encrypt(&mut n.a, &ipv4(A_IP, B_IP, b"old-a"), 1.0);
        let old_b = encrypt(&mut n.b, &ipv4(B_IP, A_IP, b"old-b"), 1.0);
        n.a.initiate(0, 100.0).unwrap();
        let init = poll(&mut n.a, 100.0);
        n.pump(vec![(true, init[0].clone())], 100.0);
        // A uses the new keypair at once; B promoted it on the keepalive.
        let new_a = encrypt(&mut n.a, &ipv4(A_IP, B_IP, b"new-a"), 101.0);
        assert_eq!(
            decrypt(&mut n.b, &new_a.bytes, a_ep(), 102.0).op,
            Op::Tun as u32
        );
        assert_eq!(
            decrypt(&mut n.b, &old_a.bytes, a_ep(), 102.0).op,
            Op::Tun as u32
        );
        assert_eq!(
            decrypt(&mut n.a, &old_b.bytes, b_ep(), 102.0).op,
            Op::Tun as u32
        );
        assert_eq!(n.a.stats(0).unwrap()[3], 2.0);
    }

    #[test]
    fn responder_holds_the_new_keypair_until_the_initiator_uses_it() {
        let mut n = pair();
        n.a_to_b(b"start", 0.0);
        n.a.initiate(0, 100.0).unwrap();
        let init = poll(&mut n.a, 100.0);
        let resp = decrypt(&mut n.b, &init[0].bytes, a_ep(), 100.0);
        assert!(n.b.peers[0].as_ref().unwrap().next.is_some());
        // B still sends with the confirmed keypair, which A still accepts.
        let from_b = encrypt(&mut n.b, &ipv4(B_IP, A_IP, b"b"), 101.0);
        decrypt(&mut n.a, &resp.bytes, b_ep(), 101.0);
        assert_eq!(
            decrypt(&mut n.a, &from_b.bytes, b_ep(), 101.0).op,
            Op::Tun as u32
        );
    }

    #[test]
    fn replayed_and_flooding_initiations_are_refused() {
        let mut n = pair();
        n.a.initiate(0, 0.0).unwrap();
        let first = poll(&mut n.a, 0.0).remove(0);
        assert_eq!(
            decrypt(&mut n.b, &first.bytes, a_ep(), 0.0).op,
            Op::Network as u32
        );
        let replay = decrypt(&mut n.b, &first.bytes, a_ep(), 1000.0);
        assert_eq!(replay.reason, Reason::StaleTimestamp as u32);
        n.a.initiate(0, 30.0).unwrap();
        let second = poll(&mut n.a, 30.0).remove(0);
        let flood = decrypt(&mut n.b, &second.bytes, a_ep(), 10.0);
        assert_eq!(flood.reason, Reason::RateLimited as u32);
        assert_eq!(
            decrypt(&mut n.b, &second.bytes, a_ep(), 40.0).op,
            Op::Network as u32
        );
    }

    #[test]
    fn under_load_a_cookie_reply_makes_the_initiator_retry_with_mac2() {
        let mut n = pair();
        n.b.set_load(LOAD_ALWAYS).unwrap();
        encrypt(&mut n.a, &ipv4(A_IP, B_IP, b"x"), 0.0);
        let init = poll(&mut n.a, 0.0).remove(0);
        let cookie = decrypt(&mut n.b, &init.bytes, a_ep(), 0.0);
        assert_eq!(cookie.reason, Reason::CookieSent as u32);
        assert_eq!(cookie.bytes.len(), COOKIE_REPLY_LEN);
        let got = decrypt(&mut n.a, &cookie.bytes, b_ep(), 1.0);
        assert_eq!(got.reason, Reason::CookieConsumed as u32);
        assert!(has_event(&events(&mut n.a), EventKind::CookieReceived));
        let retry = poll(&mut n.a, REKEY_TIMEOUT + REKEY_TIMEOUT_JITTER_MAX + 1.0);
        assert_eq!(retry.len(), 1);
        let resp = decrypt(&mut n.b, &retry[0].bytes, a_ep(), 6_000.0);
        assert_eq!(resp.op, Op::Network as u32);
        assert_eq!(resp.bytes.len(), RESPONSE_LEN);
        // From another source the same MAC2 is not valid.
        let mut m = pair();
        m.b.set_load(LOAD_ALWAYS).unwrap();
        m.a.initiate(0, 0.0).unwrap();
        let init = poll(&mut m.a, 0.0).remove(0);
        let cookie = decrypt(&mut m.b, &init.bytes, a_ep(), 0.0);
        decrypt(&mut m.a, &cookie.bytes, b_ep(), 1.0);
        let retry = poll(&mut m.a, 5_400.0).remove(0);
        let other = decrypt(&mut m.b, &retry.bytes, endpoint(9, 999), 5_400.0);
        assert_eq!(other.reason, Reason::CookieSent as u32);
    }

    #[test]
    fn bad_mac1_is_dropped_even_when_not_under_load() {
        let mut n = pair();
        n.a.initiate(0, 0.0).unwrap();
        let mut init = poll(&mut n.a, 0.0).remove(0).bytes;
        init[INITIATION_LEN - 20] ^= 1;
        assert_eq!(
            decrypt(&mut n.b, &init, a_ep(), 0.0).reason,
            Reason::BadMac1 as u32
        );
    }

    #[test]
    fn many_handshakes_in_a_second_put_the_device_under_load() {
        let mut n = pair();
        n.a.initiate(0, 0.0).unwrap();
        let init = poll(&mut n.a, 0.0).remove(0).bytes;
        let mut cookie_sent = false;
        for i in 0..(UNDER_LOAD_HANDSHAKES_PER_SECOND + 2) {
            let r = decrypt(&mut n.b, &init, a_ep(), i as f64);
            cookie_sent |= r.reason == Reason::CookieSent as u32;
        }
        assert!(cookie_sent);
        let later = decrypt(&mut n.b, &init, a_ep(), 5_000.0);
        assert_eq!(
            later.reason,
            Reason::StaleTimestamp as u32,
            "load passes after a second"
        );
    }

    /// `count` datagrams shaped like initiations and responses (type and
    /// size right, the rest random), so none carries a valid MAC1, each from
    /// its own random source.
    fn handshake_sized_junk(r: &mut Rand, count: u32) -> Vec<(Vec<u8>, Endpoint)> {
        (0..count)
            .map(|i| {
                let (kind, len) = if i % 2 == 0 {
                    (MSG_INITIATION, INITIATION_LEN)
                } else {
                    (MSG_RESPONSE, RESPONSE_LEN)
                };
                let mut junk = r.bytes(len);
                junk[..4].copy_from_slice(&kind.to_le_bytes());
                let from = endpoint(r.next() as u8, 1 + (r.next() % 0xFFFF) as u32);
                (junk, from)
            })
            .collect()
    }

    #[test]
    fn junk_that_fails_mac1_does_not_put_the_device_under_load() {
        const JUNK: u32 = 300;
        assert!(JUNK > UNDER_LOAD_HANDSHAKES_PER_SECOND);
        let mut n = pair();
        let mut r = Rand(0x6a75_6e6b);
        // Both sides get the junk: the responder checks initiations, the
        // initiator responses, and each would answer with a cookie under load.
        for dev in [&mut n.a, &mut n.b] {
            for (i, (junk, from)) in handshake_sized_junk(&mut r, JUNK).into_iter().enumerate() {
                let out = decrypt(dev, &junk, from, i as f64);
                assert_eq!(
                    (out.op, out.reason),
                    (Op::None as u32, Reason::BadMac1 as u32)
                );
            }
        }
        let now = JUNK as f64;
        n.a.initiate(0, now).unwrap();
        let init = poll(&mut n.a, now).remove(0);
        let resp = decrypt(&mut n.b, &init.bytes, a_ep(), now);
        assert_eq!(
            (resp.op, resp.reason, resp.bytes.len()),
            (Op::Network as u32, Reason::Ok as u32, RESPONSE_LEN),
            "a response, not a cookie reply"
        );
        let done = decrypt(&mut n.a, &resp.bytes, b_ep(), now);
        assert_eq!(done.reason, Reason::HandshakeConsumed as u32);
        let seen = events(&mut n.a);
        assert!(has_event(&seen, EventKind::SessionStarted));
        assert!(!has_event(&seen, EventKind::CookieReceived));
    }

    #[test]
    fn only_handshakes_with_a_valid_mac1_count_toward_load() {
        let mut n = pair();
        n.a.initiate(0, 0.0).unwrap();
        let init = poll(&mut n.a, 0.0).remove(0).bytes;
        let mut r = Rand(0x6c6f_6164);
        let junk = handshake_sized_junk(&mut r, 2 * UNDER_LOAD_HANDSHAKES_PER_SECOND);
        // Up to the limit, MAC1-valid messages (replays of one initiation)
        // interleaved with junk: the device is not under load.
        let mut reasons = Vec::new();
        for (i, (junk, from)) in junk.iter().enumerate() {
            if i % 2 == 0 {
                reasons.push(decrypt(&mut n.b, &init, a_ep(), 1.0).reason);
            }
            decrypt(&mut n.b, junk, *from, 1.0);
        }
        assert_eq!(reasons.len() as u32, UNDER_LOAD_HANDSHAKES_PER_SECOND);
        assert!(
            !reasons.contains(&(Reason::CookieSent as u32)),
            "not under load at the limit"
        );
        // One more valid message crosses it.
        let over = decrypt(&mut n.b, &init, a_ep(), 2.0);
        assert_eq!(over.reason, Reason::CookieSent as u32);
    }

    #[test]
    fn authenticated_packets_from_a_new_address_move_the_endpoint() {
        let mut n = pair();
        n.a_to_b(b"start", 0.0);
        events(&mut n.b);
        let p = encrypt(&mut n.a, &ipv4(A_IP, B_IP, b"moved"), 1.0);
        let mut forged = p.bytes.clone();
        forged[40] ^= 1;
        decrypt(&mut n.b, &forged, endpoint(7, 7777), 1.0);
        assert_eq!(
            n.b.endpoint(0).unwrap(),
            Some(a_ep()),
            "forged packets do not roam"
        );
        decrypt(&mut n.b, &p.bytes, endpoint(7, 7777), 1.0);
        assert_eq!(n.b.endpoint(0).unwrap(), Some(endpoint(7, 7777)));
        assert!(has_event(&events(&mut n.b), EventKind::EndpointChanged));
        let back = encrypt(&mut n.b, &ipv4(B_IP, A_IP, b"r"), 2.0);
        assert_eq!(back.endpoint, endpoint(7, 7777));
    }

    #[test]
    fn many_peers_are_routed_by_longest_prefix_v4_and_v6() {
        let mut hub = device(3, 0x33);
        let mut spokes = Vec::new();
        for i in 0..20u8 {
            let mut s = device(10 + i, 0x40 + i);
            let id = hub.add_peer(s.public_key().unwrap(), None, 0).unwrap();
            hub.add_allowed_ip(id, &[10, 1, i, 0], 24).unwrap();
            let mut v6 = [0u8; 16];
            v6[0] = 0xfd;
            v6[15] = i;
            hub.add_allowed_ip(id, &v6, 128).unwrap();
            hub.set_endpoint(id, endpoint(100 + i, 3000)).unwrap();
            s.add_peer(hub.public_key().unwrap(), None, 0).unwrap();
            spokes.push(s);
        }
        hub.add_allowed_ip(5, &[10, 1, 0, 0], 16).unwrap();
        let route = |hub: &mut Device, dst: [u8; 4]| encrypt(hub, &ipv4(A_IP, dst, b"x"), 0.0).peer;
        assert_eq!(route(&mut hub, [10, 1, 7, 9]), 7);
        assert_eq!(route(&mut hub, [10, 1, 19, 1]), 19);
        assert_eq!(
            route(&mut hub, [10, 1, 200, 1]),
            5,
            "the /16 catches the rest"
        );
        let mut v6 = vec![0u8; 40];
        v6[0] = 0x60;
        v6[24] = 0xfd;
        v6[39] = 12;
        assert_eq!(encrypt(&mut hub, &v6, 0.0).peer, 12);
        hub.remove_peer(12).unwrap();
        assert_eq!(encrypt(&mut hub, &v6, 0.0).reason, Reason::NoRoute as u32);
        assert_eq!(hub.remove_peer(12), Err(Error::NoSuchPeer));
    }

    #[test]
    fn configuration_errors_are_reported() {
        let mut d = Device::new();
        assert_eq!(d.initiate(0, 0.0), Err(Error::NoPrivateKey));
        d.set_private_key(&[1; 32]).unwrap();
        assert_eq!(d.initiate(0, 0.0), Err(Error::NoEntropy));
        d.entropy(&[9; 32]);
        assert_eq!(d.initiate(0, 0.0), Err(Error::NoSuchPeer));
        let id = d.add_peer([2; 32], None, 0).unwrap();
        assert_eq!(d.add_peer([2; 32], None, 0), Err(Error::DuplicatePeer));
        assert_eq!(
            d.add_peer(d.public_key().unwrap(), None, 0),
            Err(Error::InvalidArgument)
        );
        assert_eq!(d.add_peer([0; 32], None, 0), Err(Error::DhZero));
        assert_eq!(
            d.add_allowed_ip(id, &[1, 2, 3, 4], 33),
            Err(Error::BadPrefix)
        );
        assert_eq!(d.set_load(3), Err(Error::InvalidArgument));
        assert!(d.set_endpoint(id, Endpoint([5, 1, 0, 0, 0, 0, 0])).is_err());
        assert_eq!(d.endpoint(id), Ok(None));
    }

    #[test]
    fn a_new_private_key_wipes_sessions_and_removal_frees_indices() {
        let mut n = pair();
        n.a_to_b(b"start", 0.0);
        assert!(!n.a.indices.is_empty());
        n.a.set_private_key(&[0x12; 32]).unwrap();
        assert!(n.a.peers[0].as_ref().unwrap().current.is_none());
        assert!(n.a.indices.is_empty());
        n.b.remove_peer(0).unwrap();
        assert!(n.b.indices.is_empty());
    }

    #[test]
    fn the_event_ring_keeps_the_newest() {
        let mut events_ring = VecDeque::new();
        for i in 0..(EVENT_CAPACITY as u32 + 10) {
            push_event(&mut events_ring, EventKind::HandshakeSent, i, 0, 0);
        }
        assert_eq!(events_ring.len(), EVENT_CAPACITY);
        assert_eq!(events_ring.front().unwrap()[1], 10);
    }
}
