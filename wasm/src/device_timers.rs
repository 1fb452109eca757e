//! What the device does when one of a peer's timers (timers.rs) runs out,
//! one handler per timer as wireguard-go names them, and when `poll` has
//! something to do next. The send and receive paths run a peer's expired
//! timers before they touch it, so that a deadline long past acts before
//! the packet in hand.

use std::collections::VecDeque;

use crate::device::{push_event, Device, Event, MIN_INITIATION_GAP};
use crate::messages::{EventKind, KEEPALIVE_TIMEOUT};
use crate::peer::{IndexTable, Initiation, Peer};

impl Device {
    /// Runs the handlers of every timer of peer `id` that ran out by `now`,
    /// in the order of timers.rs.
    pub(crate) fn run_timers(&mut self, id: usize, now: f64) {
        let peer = match self.peers.get_mut(id).and_then(|p| p.as_deref_mut()) {
            Some(p) => p,
            None => return,
        };
        let expired = peer.timers.take_expired(now);
        if !expired.any() {
            return;
        }
        if expired.retransmit {
            expired_retransmit_handshake(peer, now, &mut self.indices, &mut self.events);
        }
        if expired.send_keepalive {
            expired_send_keepalive(peer, now);
        }
        if expired.new_handshake {
            expired_new_handshake(peer, now);
        }
        if expired.persistent_keepalive {
            expired_persistent_keepalive(peer);
        }
        if expired.zero_keys {
            expired_zero_key_material(peer, &mut self.indices, &mut self.events);
        }
    }

    /// The earliest time `poll` has something to do: a timer, a due
    /// initiation once the gap since the last one has passed, or staged
    /// packets a session can send now.
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
}

/// No response within REKEY_TIMEOUT: send the initiation again, or, after
/// REKEY_ATTEMPT_TIME, give up and drop what was staged.
fn expired_retransmit_handshake(
    peer: &mut Peer,
    now: f64,
    indices: &mut IndexTable,
    events: &mut VecDeque<Event>,
) {
    if peer.timers.attempts_exhausted(now) {
        peer.timers.gave_up(now);
        peer.staged.clear();
        peer.initiation_due = None;
        peer.rekey_due = false;
        peer.set_handshake(None, indices);
        push_event(events, EventKind::HandshakeGaveUp, peer.id, 0, 0);
    } else {
        peer.want_handshake(now, Initiation::Retransmission);
    }
}

/// Data came in and nothing went back: a keepalive, and one more interval if
/// data kept coming meanwhile.
fn expired_send_keepalive(peer: &mut Peer, now: f64) {
    peer.want_keepalive();
    if peer.timers.need_another_keepalive {
        peer.timers.need_another_keepalive = false;
        peer.timers.send_keepalive = Some(now + KEEPALIVE_TIMEOUT);
    }
}

/// Data went out and nothing came back: the session may be dead.
fn expired_new_handshake(peer: &mut Peer, now: f64) {
    peer.want_handshake(now, Initiation::New);
}

fn expired_persistent_keepalive(peer: &mut Peer) {
    peer.want_keepalive();
}

/// No new session for three REJECT_AFTER_TIMEs: wipe every key.
fn expired_zero_key_material(
    peer: &mut Peer,
    indices: &mut IndexTable,
    events: &mut VecDeque<Event>,
) {
    peer.zero_all(indices);
    push_event(events, EventKind::KeysZeroed, peer.id, 0, 0);
}

#[cfg(test)]
mod tests {
    use crate::messages::{
        EventKind, Reason, INITIATION_LEN, KEEPALIVE_TIMEOUT, REKEY_ATTEMPT_TIME, REKEY_TIMEOUT,
        REKEY_TIMEOUT_JITTER_MAX, ZERO_KEYS_AFTER,
    };
    use crate::test_pair::*;

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
}
