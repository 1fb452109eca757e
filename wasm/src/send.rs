//! The outbound path, in the order a packet takes it:
//!
//! ```text
//! encrypt_batch: IP packet from the TUN (at HEADROOM in its slot)
//!   → destination address → peer by longest prefix over AllowedIPs
//!   → the peer's timers that ran out act first
//!   → no session that can send: stage it, want a handshake  (Staged)
//!   → else pad, seal in place behind the transport header   (Network)
//!
//! poll: every peer's timers, then per peer, until the batch is full:
//!   → a due initiation (at most one per MIN_INITIATION_GAP)
//!   → staged packets and keepalives, once a session can send them
//! ```
//!
//! `initiate` is the host asking for a handshake now; `poll` emits it.

use crate::aead;
use crate::device::{peer_mut, push_event, Batch, Device, Outcome, MIN_INITIATION_GAP};
use crate::ip;
use crate::messages::{
    Error, EventKind, Op, Reason, AEAD_TAG_LEN, DESC_LEN, DESC_OFFSET, HEADROOM, INITIATION_LEN,
    MSG_TRANSPORT, MSG_TYPE, NO_PEER, PADDING_MULTIPLE, TRANSPORT_COUNTER, TRANSPORT_RECEIVER,
};
use crate::noise;
use crate::peer::{Attempt, Initiation, Peer, PendingHandshake};
use crate::rng::Drbg;
use crate::timers::jitter;

/// The largest packet the core stages (an IP packet cannot be longer).
const MAX_STAGED_LEN: usize = 65_535;

impl Device {
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
        let destination = match ip::destination(&slot[offset..offset + len]) {
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
            peer.want_handshake(now, Initiation::New);
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

    /// Starts a handshake now (emitted by the next `poll`).
    pub fn initiate(&mut self, id: u32, now: f64) -> Result<(), Error> {
        if self.keys.is_none() {
            return Err(Error::NoPrivateKey);
        }
        if !self.rng.is_seeded() {
            return Err(Error::NoEntropy);
        }
        self.last_now = now;
        self.peer(id)?.want_handshake(now, Initiation::Forced);
        Ok(())
    }

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

    /// The next packet peer `id` has to send, written into `slot`.
    fn next_output(&mut self, id: usize, slot: &mut [u8], now: f64, wall: f64) -> Option<Outcome> {
        let peer = self.peers.get_mut(id).and_then(|p| p.as_deref_mut())?;
        let can_send = peer.sending_keypair(now).is_some();
        // Staged packets need a session: start a handshake unless one is
        // already under way (the retransmit timer runs while it is).
        let idle = peer.initiation_due.is_none() && peer.timers.retransmit.is_none();
        if !peer.staged.is_empty() && !can_send && idle {
            peer.want_handshake(now, Initiation::New);
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
        let attempt = peer.initiation_due.take()?;
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
            (attempt == Attempt::Retransmission) as u32,
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
    let rekey = match peer.current.as_deref_mut() {
        Some(k) => {
            let counter = k.send_counter;
            k.send_counter += 1;
            slot[MSG_TYPE].copy_from_slice(&MSG_TRANSPORT.to_le_bytes());
            slot[TRANSPORT_RECEIVER].copy_from_slice(&k.remote_index.to_le_bytes());
            slot[TRANSPORT_COUNTER].copy_from_slice(&counter.to_le_bytes());
            let tag = aead::seal(
                &k.send_key,
                counter,
                &[],
                &mut slot[HEADROOM..HEADROOM + padded],
            );
            slot[HEADROOM + padded..HEADROOM + padded + AEAD_TAG_LEN].copy_from_slice(&tag);
            k.needs_rekey_sending(now)
        }
        None => return 0,
    };
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
        peer.want_handshake(now, Initiation::New);
    }
    total
}

/// The plaintext length after padding (whitepaper §5.4.6).
fn padded_len(len: usize) -> usize {
    (len + PADDING_MULTIPLE - 1) / PADDING_MULTIPLE * PADDING_MULTIPLE
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{MAX_STAGED_PACKETS, REKEY_AFTER_TIME, RESPONSE_LEN};
    use crate::test_pair::*;

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
    fn padding_rounds_up_to_sixteen() {
        assert_eq!(padded_len(0), 0);
        assert_eq!(padded_len(1), 16);
        assert_eq!(padded_len(16), 16);
        assert_eq!(padded_len(23), 32);
    }
}
