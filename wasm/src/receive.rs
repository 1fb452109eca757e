//! The inbound path, mirroring the outbound one:
//!
//! ```text
//! decrypt_batch: datagram from the UDP socket (at 0 in its slot, its source
//! in the descriptor) → exact size for its type →
//!   initiation: admission (MAC1; under load MAC2, else a cookie reply; the
//!               per-source rate limit) → consume → respond in the same slot
//!   response:   admission → consume → new session; poll confirms it
//!   cookie reply: remember the cookie for the next MACs
//!   transport:  keypair by our index → replay check → open in place →
//!               replay update → IP with a consistent length, from a source
//!               the peer may use                                   (Tun)
//! ```
//!
//! Admission under load is the `LoadMeter`'s: only handshake messages with
//! a valid MAC1 count. Only authenticated packets move timers or the peer's
//! endpoint (roaming).

use core::ops::Range;
use std::collections::VecDeque;

use crate::aead;
use crate::device::{peer_mut, push_event, Batch, Device, Event, Outcome, MIN_INITIATION_GAP};
use crate::ip;
use crate::messages::{
    EventKind, LoadMode, Op, Reason, AEAD_TAG_LEN, COOKIE_REPLY_LEN, COOKIE_REPLY_RECEIVER,
    DESC_ENDPOINT, DESC_LEN, DESC_OFFSET, ENDPOINT_WORDS, HANDSHAKE_SENDER, INITIATION_LEN,
    MSG_COOKIE_REPLY, MSG_INITIATION, MSG_RESPONSE, MSG_TRANSPORT, MSG_TYPE, NO_PEER, RESPONSE_LEN,
    RESPONSE_RECEIVER, TRANSPORT_COUNTER, TRANSPORT_HEADER_LEN, TRANSPORT_MIN_LEN,
    TRANSPORT_RECEIVER, UNDER_LOAD_HANDSHAKES_PER_SECOND,
};
use crate::noise;
use crate::peer::{Endpoint, Initiation, Keypair, Peer, Slot};

/// Decides whether the device is under load: by the `wg_device_set_load`
/// mode, or (auto) by the rate of handshake messages that passed MAC1, the
/// ones that can go on to cost a Diffie-Hellman. (The kernel measures the depth
/// of its handshake queue instead, which junk fills only while its workers
/// lag behind; this core has no queue, so it counts a rate, and junk must not
/// be part of it.)
pub(crate) struct LoadMeter {
    pub mode: LoadMode,
    window_start: f64,
    count: u32,
    until: f64,
}

impl LoadMeter {
    pub fn new() -> Self {
        LoadMeter {
            mode: LoadMode::Auto,
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
            LoadMode::Always => true,
            LoadMode::Never => false,
            LoadMode::Auto => {
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

impl Device {
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
        if len < MSG_TYPE.end {
            return Outcome::drop(Reason::Malformed, NO_PEER);
        }
        // The three reserved bytes are the high bytes of the little-endian
        // type word: a known type implies they are zero.
        let kind = le_u32(&slot[offset..], MSG_TYPE);
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
            let sender = le_u32(msg, HANDSHAKE_SENDER);
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
        let receiver = le_u32(&msg, RESPONSE_RECEIVER);
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
        let receiver = le_u32(msg, COOKIE_REPLY_RECEIVER);
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
        let receiver = le_u32(msg, TRANSPORT_RECEIVER);
        let counter = le_u64(msg, TRANSPORT_COUNTER);
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
            peer.want_handshake(now, Initiation::New);
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
        let (source_ip, ip_len) = match ip::source(inner) {
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
}

/// Moves the peer's endpoint to where an authenticated packet came from.
fn roam(peer: &mut Peer, source: Endpoint, events: &mut VecDeque<Event>) {
    if source.is_set() && source != peer.endpoint {
        peer.endpoint = source;
        push_event(events, EventKind::EndpointChanged, peer.id, 0, 0);
    }
}

fn le_u32(buf: &[u8], field: Range<usize>) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[field]);
    u32::from_le_bytes(b)
}

fn le_u64(buf: &[u8], field: Range<usize>) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[field]);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{
        MSG_INITIATION, REJECT_AFTER_TIME, REKEY_TIMEOUT, REKEY_TIMEOUT_JITTER_MAX,
    };
    use crate::test_pair::*;
    use crate::test_rand::Rand;

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
        n.b.set_load(LoadMode::Always as u32).unwrap();
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
        m.b.set_load(LoadMode::Always as u32).unwrap();
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
}
