//! The per-peer timers of whitepaper §6, as deadlines on the host's
//! monotonic clock (milliseconds). There are five:
//!
//! - `retransmit`: an initiation got no response within `REKEY_TIMEOUT` (plus
//!   jitter): send it again, or give up after `REKEY_ATTEMPT_TIME`.
//! - `send_keepalive`: data arrived but nothing went back within
//!   `KEEPALIVE_TIMEOUT`: send an empty packet so the sender knows we live.
//! - `new_handshake`: data went out but nothing came back within
//!   `KEEPALIVE_TIMEOUT + REKEY_TIMEOUT`: the session may be dead, start a
//!   new handshake.
//! - `zero_keys`: no new session for `REJECT_AFTER_TIME * 3`: wipe every key.
//! - `persistent_keepalive`: the configured keepalive interval passed without
//!   an authenticated packet in either direction.
//!
//! This file only keeps the deadlines: hooks named for what happened move
//! them, and `take_expired` reports which ran out. device_timers.rs acts on
//! them.

use crate::messages::{
    KEEPALIVE_TIMEOUT, NEW_HANDSHAKE_AFTER, REKEY_ATTEMPT_TIME, REKEY_TIMEOUT,
    REKEY_TIMEOUT_JITTER_MAX, ZERO_KEYS_AFTER,
};

/// Which timers ran out in one `take_expired` call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expired {
    pub retransmit: bool,
    pub send_keepalive: bool,
    pub new_handshake: bool,
    pub zero_keys: bool,
    pub persistent_keepalive: bool,
}

impl Expired {
    pub fn any(&self) -> bool {
        self.retransmit
            || self.send_keepalive
            || self.new_handshake
            || self.zero_keys
            || self.persistent_keepalive
    }
}

/// The deadlines of one peer; `None` is a timer that is not armed.
#[derive(Clone, Debug, Default)]
pub struct Timers {
    pub retransmit: Option<f64>,
    pub send_keepalive: Option<f64>,
    pub new_handshake: Option<f64>,
    pub zero_keys: Option<f64>,
    pub persistent_keepalive: Option<f64>,
    /// Persistent keepalive interval in milliseconds; 0 is off.
    pub persistent_interval: f64,
    /// When the current series of handshake attempts began.
    pub attempts_started: Option<f64>,
    /// Data arrived again while a keepalive was already due: send one more.
    pub need_another_keepalive: bool,
}

/// A jitter of 0..=REKEY_TIMEOUT_JITTER_MAX milliseconds from a random word.
pub fn jitter(random: u32) -> f64 {
    (random % (REKEY_TIMEOUT_JITTER_MAX as u32 + 1)) as f64
}

impl Timers {
    pub fn new(persistent_interval: f64) -> Self {
        Timers {
            persistent_interval,
            ..Timers::default()
        }
    }

    /// An initiation was sent (first or repeated): expect a response within
    /// `REKEY_TIMEOUT` plus `jitter` ms.
    pub fn handshake_initiated(&mut self, now: f64, jitter: f64) {
        if self.attempts_started.is_none() {
            self.attempts_started = Some(now);
        }
        self.retransmit = Some(now + REKEY_TIMEOUT + jitter);
    }

    /// A new series of attempts begins (not a retransmission).
    pub fn handshake_wanted(&mut self, now: f64) {
        self.attempts_started = Some(now);
    }

    /// A handshake completed: stop retransmitting.
    pub fn handshake_complete(&mut self) {
        self.retransmit = None;
        self.attempts_started = None;
    }

    /// New session keys exist: they are wiped if no newer ones follow.
    pub fn session_derived(&mut self, now: f64) {
        self.zero_keys = Some(now + ZERO_KEYS_AFTER);
    }

    /// A transport packet with a payload (not a keepalive) was sent.
    pub fn data_sent(&mut self, now: f64, jitter: f64) {
        if self.new_handshake.is_none() {
            self.new_handshake = Some(now + NEW_HANDSHAKE_AFTER + jitter);
        }
    }

    /// A transport packet with a payload was received.
    pub fn data_received(&mut self, now: f64) {
        if self.send_keepalive.is_none() {
            self.send_keepalive = Some(now + KEEPALIVE_TIMEOUT);
        } else {
            self.need_another_keepalive = true;
        }
    }

    /// Any authenticated packet (handshake or transport) was sent.
    pub fn authenticated_sent(&mut self) {
        self.send_keepalive = None;
    }

    /// Any authenticated packet (handshake or transport) was received.
    pub fn authenticated_received(&mut self) {
        self.new_handshake = None;
    }

    /// Any authenticated packet went either way: restart the persistent
    /// keepalive interval.
    pub fn authenticated_traversal(&mut self, now: f64) {
        if self.persistent_interval > 0.0 {
            self.persistent_keepalive = Some(now + self.persistent_interval);
        }
    }

    /// Every key was wiped: nothing is left to keep alive or retransmit.
    pub fn keys_zeroed(&mut self) {
        self.retransmit = None;
        self.send_keepalive = None;
        self.new_handshake = None;
        self.zero_keys = None;
        self.attempts_started = None;
        self.need_another_keepalive = false;
    }

    /// Handshake attempts ran for `REKEY_ATTEMPT_TIME`: stop them. Keys are
    /// still wiped in time even if no session ever existed.
    pub fn gave_up(&mut self, now: f64) {
        self.retransmit = None;
        self.send_keepalive = None;
        self.attempts_started = None;
        if self.zero_keys.is_none() {
            self.zero_keys = Some(now + ZERO_KEYS_AFTER);
        }
    }

    /// Has the current series of attempts run out of time?
    pub fn attempts_exhausted(&self, now: f64) -> bool {
        match self.attempts_started {
            Some(start) => now - start >= REKEY_ATTEMPT_TIME,
            None => false,
        }
    }

    /// Disarms every timer that ran out by `now` and says which.
    pub fn take_expired(&mut self, now: f64) -> Expired {
        Expired {
            retransmit: take_if_due(&mut self.retransmit, now),
            send_keepalive: take_if_due(&mut self.send_keepalive, now),
            new_handshake: take_if_due(&mut self.new_handshake, now),
            zero_keys: take_if_due(&mut self.zero_keys, now),
            persistent_keepalive: take_if_due(&mut self.persistent_keepalive, now),
        }
    }

    /// The earliest armed deadline.
    pub fn next_deadline(&self) -> f64 {
        [
            self.retransmit,
            self.send_keepalive,
            self.new_handshake,
            self.zero_keys,
            self.persistent_keepalive,
        ]
        .iter()
        .flatten()
        .fold(f64::INFINITY, |a, &b| a.min(b))
    }
}

fn take_if_due(deadline: &mut Option<f64>, now: f64) -> bool {
    match *deadline {
        Some(at) if at <= now => {
            *deadline = None;
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_due_on_a_fresh_peer() {
        let mut t = Timers::new(0.0);
        assert_eq!(t.next_deadline(), f64::INFINITY);
        assert!(!t.take_expired(1e12).any());
    }

    #[test]
    fn retransmit_is_due_after_rekey_timeout_plus_jitter() {
        let mut t = Timers::new(0.0);
        t.handshake_initiated(1000.0, 200.0);
        assert_eq!(t.next_deadline(), 1000.0 + REKEY_TIMEOUT + 200.0);
        assert!(!t.take_expired(6199.0).retransmit);
        assert!(t.take_expired(6200.0).retransmit);
        assert!(t.retransmit.is_none());
    }

    #[test]
    fn jitter_stays_within_its_bound() {
        for r in [0u32, 1, 332, 333, 334, u32::MAX, 123_456_789] {
            let j = jitter(r);
            assert!((0.0..=REKEY_TIMEOUT_JITTER_MAX).contains(&j), "{}", j);
        }
    }

    #[test]
    fn attempts_run_out_after_rekey_attempt_time() {
        let mut t = Timers::new(0.0);
        t.handshake_wanted(0.0);
        t.handshake_initiated(0.0, 0.0);
        t.handshake_initiated(5000.0, 0.0);
        assert_eq!(t.attempts_started, Some(0.0));
        assert!(!t.attempts_exhausted(89_999.0));
        assert!(t.attempts_exhausted(90_000.0));
        t.gave_up(90_000.0);
        assert!(t.retransmit.is_none());
        assert_eq!(t.zero_keys, Some(90_000.0 + ZERO_KEYS_AFTER));
    }

    #[test]
    fn received_data_arms_one_keepalive_and_sending_cancels_it() {
        let mut t = Timers::new(0.0);
        t.data_received(0.0);
        t.data_received(3000.0);
        assert_eq!(t.send_keepalive, Some(KEEPALIVE_TIMEOUT));
        assert!(t.need_another_keepalive);
        t.authenticated_sent();
        assert!(t.send_keepalive.is_none());
    }

    #[test]
    fn sent_data_without_reply_asks_for_a_new_handshake() {
        let mut t = Timers::new(0.0);
        t.data_sent(0.0, 0.0);
        t.data_sent(4000.0, 0.0);
        assert_eq!(t.new_handshake, Some(NEW_HANDSHAKE_AFTER));
        assert!(t.take_expired(15_000.0).new_handshake);
        t.data_sent(20_000.0, 0.0);
        t.authenticated_received();
        assert!(t.new_handshake.is_none());
    }

    #[test]
    fn persistent_keepalive_follows_every_traversal_when_configured() {
        let mut off = Timers::new(0.0);
        off.authenticated_traversal(0.0);
        assert!(off.persistent_keepalive.is_none());
        let mut on = Timers::new(25_000.0);
        on.authenticated_traversal(1000.0);
        on.authenticated_traversal(2000.0);
        assert_eq!(on.persistent_keepalive, Some(27_000.0));
        assert_eq!(on.next_deadline(), 27_000.0);
    }

    #[test]
    fn keys_are_zeroed_three_reject_times_after_the_last_session() {
        let mut t = Timers::new(0.0);
        t.session_derived(0.0);
        t.session_derived(100_000.0);
        assert!(!t.take_expired(539_999.0 + 100_000.0).zero_keys);
        assert!(t.take_expired(640_000.0).zero_keys);
    }
}
