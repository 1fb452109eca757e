//! The device: our identity, the peers, cryptokey routing, the event ring,
//! and the batches the ABI hands in (wasm/README.md "Batches"). The packet
//! paths live beside it, as in the kernel and wireguard-go:
//!
//! - `send.rs`: IP packet → peer → seal, or stage and start a handshake;
//!   `poll` emits initiations, staged packets and keepalives.
//! - `receive.rs`: datagram → admission (MAC1, load, cookies) → consume a
//!   handshake, a cookie reply or transport data → IP packet.
//! - `device_timers.rs`: what each of a peer's timers does when it runs out,
//!   and when the next one will.
//! - `ip.rs`: the IP header fields the paths read.
//!
//! Only authenticated packets move timers or the peer's endpoint (roaming).

use std::collections::{BTreeMap, VecDeque};

use crate::allowed_ips::AllowedIps;
use crate::cookie::{CookieChecker, RateLimiter};
use crate::ct::{ct_eq, wipe};
use crate::messages::{
    Error, EventKind, LoadMode, Op, Reason, DESC_ENDPOINT, DESC_LEN, DESC_OFFSET, DESC_OP,
    DESC_PEER, DESC_REASON, DESC_WORDS, ENDPOINT_WORDS, EVENT_A, EVENT_B, EVENT_CAPACITY,
    EVENT_KIND, EVENT_PEER, EVENT_WORDS, MAX_INITIATIONS_PER_SECOND, MAX_PEERS, STATS_HANDSHAKES,
    STATS_LAST_HANDSHAKE_WALL, STATS_RX_BYTES, STATS_SESSION_AGE, STATS_TX_BYTES, STATS_VALUES,
};
use crate::noise::{PeerStatic, StaticKeys};
use crate::peer::{Endpoint, IndexTable, Peer};
use crate::receive::LoadMeter;
use crate::rng::Drbg;

/// Least time between two initiations to (or from) one peer.
pub(crate) const MIN_INITIATION_GAP: f64 = 1000.0 / MAX_INITIATIONS_PER_SECOND;

/// One event record: kind, peer, a, b (`EVENT_*`).
pub type Event = [u32; EVENT_WORDS];

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

    pub(crate) fn parts(&mut self, i: usize) -> (&mut [u8], &mut [u32]) {
        let slot = &mut self.slots[i * self.slot_size..(i + 1) * self.slot_size];
        let desc = &mut self.desc[i * DESC_WORDS..(i + 1) * DESC_WORDS];
        (slot, desc)
    }
}

/// What happens to one packet: written into its descriptor.
pub(crate) struct Outcome {
    pub op: Op,
    pub reason: Reason,
    pub peer: u32,
    pub offset: usize,
    pub len: usize,
    pub endpoint: Option<Endpoint>,
}

impl Outcome {
    pub fn drop(reason: Reason, peer: u32) -> Outcome {
        Outcome {
            op: Op::None,
            reason,
            peer,
            offset: 0,
            len: 0,
            endpoint: None,
        }
    }

    pub fn write(&self, desc: &mut [u32], keep_len: bool) {
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
    pub(crate) rng: Drbg,
    pub(crate) keys: Option<StaticKeys>,
    pub(crate) checker: Option<CookieChecker>,
    pub(crate) limiter: RateLimiter,
    pub(crate) load: LoadMeter,
    /// Indexed by peer id. A removed peer's id is reused by a later
    /// peer (`free_ids`), so that a device whose peers come and go (a
    /// server's clients) never runs out of ids over its life.
    pub(crate) peers: Vec<Option<Box<Peer>>>,
    /// The empty slots of `peers`, the next to fill last.
    pub(crate) free_ids: Vec<u32>,
    pub(crate) by_key: BTreeMap<[u8; 32], u32>,
    pub(crate) indices: IndexTable,
    pub(crate) routes: AllowedIps<u32>,
    pub(crate) events: VecDeque<Event>,
    /// The last `wall` used for a TAI64N timestamp: ours strictly increase.
    pub(crate) last_timestamp_wall: f64,
    /// The latest `now` the host gave (for stats).
    pub(crate) last_now: f64,
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
            free_ids: Vec::new(),
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
        self.load.mode = LoadMode::from_u32(mode).ok_or(Error::InvalidArgument)?;
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
        // Live peers, not ids ever handed out: removed ones free theirs.
        if self.by_key.len() >= MAX_PEERS {
            return Err(Error::TooManyPeers);
        }
        let statik = match &self.keys {
            Some(keys) if keys.public == public => return Err(Error::InvalidArgument),
            Some(keys) => Some(PeerStatic::new(keys, public, psk)?),
            None => None,
        };
        let id = self.free_ids.pop().unwrap_or(self.peers.len() as u32);
        let mut peer = Peer::new(id, public, psk, keepalive_s);
        peer.statik = statik;
        match self.peers.get_mut(id as usize) {
            Some(slot) => *slot = Some(Box::new(peer)),
            None => self.peers.push(Some(Box::new(peer))),
        }
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
        // The id may name another peer soon: events the host has not read
        // yet must not be taken for that peer's.
        self.events.retain(|e| e[EVENT_PEER] != id);
        self.free_ids.push(id);
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

    /// Changes the peer's preshared key in place, as wireguard-go does: its
    /// sessions stay, and the next handshake mixes in the new key.
    pub fn set_preshared_key(&mut self, id: u32, psk: Option<[u8; 32]>) -> Result<(), Error> {
        let peer = self.peer(id)?;
        if let Some(old) = peer.psk.as_mut() {
            wipe(old);
        }
        peer.psk = psk;
        if let Some(statik) = peer.statik.as_mut() {
            wipe(&mut statik.psk);
            statik.psk = psk.unwrap_or([0; 32]);
        }
        Ok(())
    }

    /// Changes the persistent keepalive interval in place (0 turns it off).
    /// Turned on, a keepalive goes at once (as wireguard-go sends one); a
    /// changed interval moves the armed timer by the difference.
    pub fn set_keepalive(&mut self, id: u32, keepalive_s: u32) -> Result<(), Error> {
        if keepalive_s > 65_535 {
            return Err(Error::InvalidArgument);
        }
        let peer = self.peer(id)?;
        let old = peer.timers.persistent_interval;
        let new = keepalive_s as f64 * 1000.0;
        peer.timers.persistent_interval = new;
        if new == 0.0 {
            peer.timers.persistent_keepalive = None;
        } else if old == 0.0 {
            peer.want_keepalive();
        } else if let Some(at) = peer.timers.persistent_keepalive {
            peer.timers.persistent_keepalive = Some(at - old + new);
        }
        Ok(())
    }

    /// Stops routing `addr/prefix` to the peer (a prefix another peer has
    /// stays with it); its sessions stay.
    pub fn remove_allowed_ip(&mut self, id: u32, addr: &[u8], prefix: u32) -> Result<(), Error> {
        self.peer(id)?;
        let max = match addr.len() {
            4 => 32,
            16 => 128,
            _ => return Err(Error::InvalidArgument),
        };
        if prefix > max {
            return Err(Error::BadPrefix);
        }
        self.routes.remove(addr, prefix as u8, id).map(|_| ())
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

    /// The peer's counters as `wg_peer_stats` writes them (`STATS_*`); the
    /// rest are reserved (0).
    pub fn stats(&mut self, id: u32) -> Result<[f64; STATS_VALUES], Error> {
        let now = self.last_now;
        let peer = self.peer(id)?;
        let s = peer.stats;
        let mut out = [0.0; STATS_VALUES];
        out[STATS_LAST_HANDSHAKE_WALL] = s.last_handshake_wall;
        out[STATS_RX_BYTES] = s.rx_bytes;
        out[STATS_TX_BYTES] = s.tx_bytes;
        out[STATS_HANDSHAKES] = s.handshakes;
        out[STATS_SESSION_AGE] = peer.session_age(now).unwrap_or(-1.0);
        Ok(out)
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

    pub(crate) fn peer(&mut self, id: u32) -> Result<&mut Peer, Error> {
        peer_mut(&mut self.peers, id).ok_or(Error::NoSuchPeer)
    }
}

/// The live peer with this id. A free function, so that callers may hold
/// other fields of the device (its keys, its indices) at the same time.
pub(crate) fn peer_mut(peers: &mut [Option<Box<Peer>>], id: u32) -> Option<&mut Peer> {
    peers.get_mut(id as usize).and_then(|p| p.as_deref_mut())
}

pub(crate) fn push_event(events: &mut VecDeque<Event>, kind: EventKind, peer: u32, a: u32, b: u32) {
    while events.len() >= EVENT_CAPACITY {
        events.pop_front();
    }
    let mut event = [0; EVENT_WORDS];
    event[EVENT_KIND] = kind as u32;
    event[EVENT_PEER] = peer;
    event[EVENT_A] = a;
    event[EVENT_B] = b;
    events.push_back(event);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_pair::{ipv4, pair, poll, A_IP, B_IP};

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
    fn removed_peers_ids_are_reused_and_churn_never_exhausts_them() {
        let mut d = Device::new();
        d.set_private_key(&[1; 32]).unwrap();
        d.entropy(&[9; 32]);
        let key = |i: u32| {
            let mut k = [3; 32];
            k[..4].copy_from_slice(&i.to_le_bytes());
            k
        };
        let first = d.add_peer(key(0), None, 0).unwrap();
        let kept = d.add_peer(key(1), None, 0).unwrap();
        d.add_allowed_ip(first, &[10, 0, 0, 2], 32).unwrap();
        // An event of the peer the host has not read yet, and one of another.
        push_event(&mut d.events, EventKind::HandshakeSent, first, 0, 0);
        push_event(&mut d.events, EventKind::HandshakeSent, kept, 0, 0);
        d.remove_peer(first).unwrap();
        // No event of the removed peer is left to be read as its successor's.
        assert!(d.events.iter().all(|e| e[EVENT_PEER] != first));
        assert_eq!(d.events.len(), 1);
        let again = d.add_peer(key(2), None, 0).unwrap();
        assert_eq!(again, first, "the freed id is reused");
        assert_eq!(d.peers.len(), 2);
        // The reused id starts clean: no route, no endpoint of the old peer.
        assert_eq!(d.routes.lookup(&[10, 0, 0, 2]), None);
        assert_eq!(d.endpoint(again), Ok(None));
        assert_eq!(d.peers[kept as usize].as_ref().unwrap().public, key(1));
        // Many more adds and removes than there are ids: a server's churn
        // (on a device without a key, which skips each peer's DH).
        let mut churn = Device::new();
        let kept = churn.add_peer(key(0), None, 0).unwrap();
        for i in 1..(MAX_PEERS as u32 + 10) {
            let id = churn.add_peer(key(i), None, 0).unwrap();
            churn.remove_peer(id).unwrap();
        }
        assert_eq!(churn.peers.len(), 2);
        assert_eq!(churn.by_key.get(&key(0)), Some(&kept));
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
    fn a_new_preshared_key_keeps_the_session_and_counts_from_the_next_handshake() {
        let psk = Some([7; 32]);
        let mut n = crate::test_pair::pair_with(psk, psk, 0);
        n.a_to_b(b"start", 0.0);
        let handshakes = n.a.stats(0).unwrap()[STATS_HANDSHAKES];
        assert_eq!(handshakes, 1.0);
        // Only A changes its key: the session goes on, both ways.
        n.a.set_preshared_key(0, Some([8; 32])).unwrap();
        assert!(n.a.peers[0].as_ref().unwrap().current.is_some());
        assert_eq!(n.a_to_b(b"after", 10.0), vec![ipv4(A_IP, B_IP, b"after")]);
        assert_eq!(n.b_to_a(b"back", 20.0), vec![ipv4(B_IP, A_IP, b"back")]);
        assert_eq!(n.a.stats(0).unwrap()[STATS_HANDSHAKES], handshakes);
        // The next handshake uses it: B with the old key cannot complete it.
        n.a.initiate(0, 10_000.0).unwrap();
        n.pump(Vec::new(), 10_000.0);
        assert_eq!(n.a.stats(0).unwrap()[STATS_HANDSHAKES], handshakes);
        // With the same key on both sides again, it completes.
        n.b.set_preshared_key(0, Some([8; 32])).unwrap();
        n.a.initiate(0, 30_000.0).unwrap();
        n.pump(Vec::new(), 30_000.0);
        assert_eq!(n.a.stats(0).unwrap()[STATS_HANDSHAKES], handshakes + 1.0);
        assert_eq!(n.a.set_preshared_key(5, None), Err(Error::NoSuchPeer));
    }

    #[test]
    fn keepalive_changes_in_place() {
        let mut n = pair();
        n.a_to_b(b"start", 0.0);
        let handshakes = n.a.stats(0).unwrap()[STATS_HANDSHAKES];
        // On: one keepalive at once, then one per interval.
        n.a.set_keepalive(0, 25).unwrap();
        let out = poll(&mut n.a, 100.0);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].reason, Reason::Keepalive as u32);
        n.pump(vec![(true, out[0].clone())], 100.0);
        assert_eq!(
            n.a.peers[0].as_ref().unwrap().timers.persistent_keepalive,
            Some(25_100.0)
        );
        // Another interval moves the armed timer.
        n.a.set_keepalive(0, 10).unwrap();
        assert_eq!(
            n.a.peers[0].as_ref().unwrap().timers.persistent_keepalive,
            Some(10_100.0)
        );
        // Off: no timer.
        n.a.set_keepalive(0, 0).unwrap();
        assert_eq!(
            n.a.peers[0].as_ref().unwrap().timers.persistent_keepalive,
            None
        );
        assert!(n.a.peers[0].as_ref().unwrap().current.is_some());
        assert_eq!(n.a.stats(0).unwrap()[STATS_HANDSHAKES], handshakes);
        assert_eq!(n.a.set_keepalive(0, 65_536), Err(Error::InvalidArgument));
    }

    #[test]
    fn removing_an_allowed_ip_keeps_the_session() {
        let mut n = pair();
        n.a_to_b(b"start", 0.0);
        n.a.add_allowed_ip(0, &[10, 9, 0, 0], 16).unwrap();
        assert_eq!(n.a.routes.lookup(&[10, 9, 1, 1]), Some(0));
        n.a.remove_allowed_ip(0, &[10, 9, 0, 0], 16).unwrap();
        assert_eq!(n.a.routes.lookup(&[10, 9, 1, 1]), None);
        assert!(n.a.peers[0].as_ref().unwrap().current.is_some());
        assert_eq!(n.a_to_b(b"still", 10.0), vec![ipv4(A_IP, B_IP, b"still")]);
        assert_eq!(
            n.a.remove_allowed_ip(0, &[10, 9, 0, 0], 33),
            Err(Error::BadPrefix)
        );
        assert_eq!(
            n.a.remove_allowed_ip(3, &[10, 9, 0, 0], 16),
            Err(Error::NoSuchPeer)
        );
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
