//! MAC1, MAC2 and cookie replies (whitepaper §5.4.4, §5.4.7), and the
//! per-source rate limit on handshake messages.
//!
//! Every handshake message ends in `mac1 ‖ mac2` (16 bytes each):
//!
//! ```text
//! msg.mac1 := MAC(HASH(LABEL_MAC1 ‖ S_m'^pub), msg[0 : len-32])
//! msg.mac2 := MAC(τ, msg[0 : len-16])      when a cookie τ is held, else 0^16
//! τ := MAC(R_m, A_m)                      R_m: secret rotated every 2 minutes,
//!                                         A_m: the sender's IP ‖ port
//! reply.encrypted_cookie := XAEAD(HASH(LABEL_COOKIE ‖ S_m^pub), nonce, τ, msg.mac1)
//! ```
//!
//! The responder (one `CookieChecker` per device) checks MAC1 always and,
//! under load, MAC2; it answers a message without a valid MAC2 with a cookie
//! reply. The initiator (one `CookieGenerator` per peer) adds the MACs and
//! keeps the cookie from a reply for `COOKIE_MAX_AGE`.

use crate::aead;
use crate::blake2s;
use crate::ct::{ct_eq, wipe};
use crate::messages::{
    Error, Reason, COOKIE_MAX_AGE, COOKIE_REPLY_LEN, COOKIE_SECRET_MAX_AGE, LABEL_COOKIE,
    LABEL_MAC1, MSG_COOKIE_REPLY, RATELIMIT_BURST, RATELIMIT_PACKETS_PER_SECOND,
};
use crate::rng::Drbg;
use std::collections::HashMap;

const MAC_LEN: usize = 16;
/// A handshake message carries at least its two MACs.
const MACS_LEN: usize = 2 * MAC_LEN;

const REPLY_RECEIVER: core::ops::Range<usize> = 4..8;
const REPLY_NONCE: core::ops::Range<usize> = 8..32;
const REPLY_COOKIE: core::ops::Range<usize> = 32..48;
const REPLY_TAG: core::ops::Range<usize> = 48..64;

/// MAC(key, parts): keyed BLAKE2s with a 16-byte digest.
fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; MAC_LEN] {
    let mut out = [0u8; MAC_LEN];
    blake2s::hash(&mut out, key, parts);
    out
}

/// HASH(label ‖ public): the MAC1 key or the cookie-sealing key of `public`.
fn labelled_key(label: &[u8], public: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    blake2s::hash(&mut out, &[], &[label, public]);
    out
}

/// The message up to its MAC1, and up to its MAC2; `None` if too short.
fn mac_spans(msg: &[u8]) -> Option<(usize, usize)> {
    let len = msg.len();
    if len < MACS_LEN {
        return None;
    }
    Some((len - MACS_LEN, len - MAC_LEN))
}

/// τ := MAC(R_m, A_m)
fn cookie_for(secret: &[u8; 32], source: &[u8]) -> [u8; MAC_LEN] {
    mac(secret, &[source])
}

/// Writes a cookie reply: type, receiver, nonce, the sealed cookie and tag.
fn seal_reply(
    cookie_key: &[u8; 32],
    cookie: &[u8; MAC_LEN],
    mac1: &[u8],
    receiver_index: u32,
    nonce: &[u8; 24],
    out: &mut [u8; COOKIE_REPLY_LEN],
) {
    out.fill(0);
    out[0..4].copy_from_slice(&MSG_COOKIE_REPLY.to_le_bytes());
    out[REPLY_RECEIVER].copy_from_slice(&receiver_index.to_le_bytes());
    out[REPLY_NONCE].copy_from_slice(nonce);
    out[REPLY_COOKIE].copy_from_slice(cookie);
    let tag = aead::xseal(cookie_key, nonce, mac1, &mut out[REPLY_COOKIE]);
    out[REPLY_TAG].copy_from_slice(&tag);
}

// ---- The responder's side ----

/// Checks MACs of incoming handshake messages and makes cookie replies.
pub struct CookieChecker {
    mac1_key: [u8; 32],
    cookie_key: [u8; 32],
    /// R_m; valid while `secret_born` is `Some` and younger than 120 s.
    secret: [u8; 32],
    secret_born: Option<f64>,
}

impl CookieChecker {
    /// The checker for a device whose public key is `local_public`.
    pub fn new(local_public: &[u8; 32]) -> Self {
        CookieChecker {
            mac1_key: labelled_key(LABEL_MAC1, local_public),
            cookie_key: labelled_key(LABEL_COOKIE, local_public),
            secret: [0; 32],
            secret_born: None,
        }
    }

    /// Is `msg` (a whole initiation or response) MACed for us?
    pub fn check_mac1(&self, msg: &[u8]) -> bool {
        match mac_spans(msg) {
            Some((mac1_at, mac2_at)) => {
                let want = mac(&self.mac1_key, &[&msg[..mac1_at]]);
                ct_eq(&want, &msg[mac1_at..mac2_at])
            }
            None => false,
        }
    }

    /// Does `msg` carry a MAC2 made with the current cookie for `source`
    /// (the sender's IP bytes ‖ port, 2 bytes big-endian)? An expired
    /// secret is replaced first, so cookies older than 120 s fail.
    pub fn check_mac2(&mut self, msg: &[u8], source: &[u8], now: f64, rng: &mut Drbg) -> bool {
        let (_, mac2_at) = match mac_spans(msg) {
            Some(spans) => spans,
            None => return false,
        };
        if self.fresh_secret(now, rng).is_err() {
            return false;
        }
        let mut cookie = cookie_for(&self.secret, source);
        let want = mac(&cookie, &[&msg[..mac2_at]]);
        wipe(&mut cookie);
        ct_eq(&want, &msg[mac2_at..])
    }

    /// Writes into `out` a cookie reply to `msg` (from `source`, whose sender
    /// index is `receiver_index`).
    pub fn create_reply(
        &mut self,
        msg: &[u8],
        receiver_index: u32,
        source: &[u8],
        now: f64,
        rng: &mut Drbg,
        out: &mut [u8; COOKIE_REPLY_LEN],
    ) -> Result<(), Error> {
        let (mac1_at, mac2_at) = mac_spans(msg).ok_or(Error::InvalidArgument)?;
        self.fresh_secret(now, rng)?;
        let mut nonce = [0u8; 24];
        rng.fill(&mut nonce)?;
        let mut cookie = cookie_for(&self.secret, source);
        seal_reply(
            &self.cookie_key,
            &cookie,
            &msg[mac1_at..mac2_at],
            receiver_index,
            &nonce,
            out,
        );
        wipe(&mut cookie);
        Ok(())
    }

    /// R_m := random(32) when there is none or it is older than 120 s.
    fn fresh_secret(&mut self, now: f64, rng: &mut Drbg) -> Result<(), Error> {
        let expired = match self.secret_born {
            Some(born) => now - born >= COOKIE_SECRET_MAX_AGE,
            None => true,
        };
        if expired {
            wipe(&mut self.secret);
            self.secret_born = None;
            rng.fill(&mut self.secret)?;
            self.secret_born = Some(now);
        }
        Ok(())
    }
}

impl Drop for CookieChecker {
    fn drop(&mut self) {
        wipe(&mut self.secret);
    }
}

// ---- The initiator's side ----

/// Adds MACs to outgoing handshake messages for one peer and keeps the
/// cookie that peer sent us.
pub struct CookieGenerator {
    mac1_key: [u8; 32],
    cookie_key: [u8; 32],
    cookie: [u8; MAC_LEN],
    cookie_born: Option<f64>,
    /// The MAC1 of the last message we sent: the AAD of a cookie reply.
    last_mac1: Option<[u8; MAC_LEN]>,
}

impl CookieGenerator {
    /// The generator for messages to the peer whose public key is `peer_public`.
    pub fn new(peer_public: &[u8; 32]) -> Self {
        CookieGenerator {
            mac1_key: labelled_key(LABEL_MAC1, peer_public),
            cookie_key: labelled_key(LABEL_COOKIE, peer_public),
            cookie: [0; MAC_LEN],
            cookie_born: None,
            last_mac1: None,
        }
    }

    /// Fills the last 32 bytes of `msg`: MAC1 always, MAC2 when a cookie
    /// younger than `COOKIE_MAX_AGE` is held (zeros otherwise).
    pub fn add_macs(&mut self, msg: &mut [u8], now: f64) {
        let (mac1_at, mac2_at) = match mac_spans(msg) {
            Some(spans) => spans,
            None => return,
        };
        let mac1 = mac(&self.mac1_key, &[&msg[..mac1_at]]);
        msg[mac1_at..mac2_at].copy_from_slice(&mac1);
        self.last_mac1 = Some(mac1);
        let fresh = matches!(self.cookie_born, Some(born) if now - born < COOKIE_MAX_AGE);
        let mac2 = if fresh {
            mac(&self.cookie, &[&msg[..mac2_at]])
        } else {
            [0; MAC_LEN]
        };
        msg[mac2_at..].copy_from_slice(&mac2);
    }

    /// Takes the cookie out of a reply to the last message we MACed.
    /// `Malformed` for a wrong type; `DecryptFailed` when nothing was sent
    /// yet or the reply does not open with our last MAC1.
    pub fn consume_reply(
        &mut self,
        reply: &[u8; COOKIE_REPLY_LEN],
        now: f64,
    ) -> Result<(), Reason> {
        if crate::noise::msg_type(reply) != Some(MSG_COOKIE_REPLY) {
            return Err(Reason::Malformed);
        }
        let mac1 = self.last_mac1.ok_or(Reason::DecryptFailed)?;
        let mut nonce = [0u8; 24];
        nonce.copy_from_slice(&reply[REPLY_NONCE]);
        let mut cookie = [0u8; MAC_LEN];
        cookie.copy_from_slice(&reply[REPLY_COOKIE]);
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&reply[REPLY_TAG]);
        if aead::xopen(&self.cookie_key, &nonce, &mac1, &mut cookie, &tag).is_err() {
            return Err(Reason::DecryptFailed);
        }
        self.cookie = cookie;
        wipe(&mut cookie);
        self.cookie_born = Some(now);
        Ok(())
    }
}

impl Drop for CookieGenerator {
    fn drop(&mut self) {
        wipe(&mut self.cookie);
    }
}

// ---- Rate limit ----

/// At most this many sources are tracked; beyond it new sources are refused
/// until old entries expire.
const RATELIMIT_MAX_ENTRIES: usize = 4096;
/// An entry unused this long is full again and may be forgotten.
const RATELIMIT_ENTRY_TTL: f64 = 1000.0;

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: f64,
}

/// A token bucket per source address: `RATELIMIT_PACKETS_PER_SECOND`
/// sustained, `RATELIMIT_BURST` at once. IPv4 sources count per address,
/// IPv6 per /64 (one host usually holds a whole /64). Ports are ignored.
pub struct RateLimiter {
    buckets: HashMap<[u8; 16], Bucket>,
    last_sweep: f64,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl RateLimiter {
    pub fn new() -> Self {
        RateLimiter {
            buckets: HashMap::new(),
            last_sweep: f64::NEG_INFINITY,
        }
    }

    /// May one more handshake message from `source_ip` (4 or 16 bytes) be
    /// processed at `now`?
    pub fn allow(&mut self, source_ip: &[u8], now: f64) -> bool {
        let key = bucket_key(source_ip);
        if now - self.last_sweep >= RATELIMIT_ENTRY_TTL {
            self.buckets
                .retain(|_, b| now - b.last < RATELIMIT_ENTRY_TTL);
            self.last_sweep = now;
        }
        if let Some(bucket) = self.buckets.get_mut(&key) {
            let elapsed = (now - bucket.last).max(0.0);
            bucket.tokens = (bucket.tokens + elapsed * RATELIMIT_PACKETS_PER_SECOND / 1000.0)
                .min(RATELIMIT_BURST);
            bucket.last = now;
            if bucket.tokens >= 1.0 {
                bucket.tokens -= 1.0;
                return true;
            }
            return false;
        }
        if self.buckets.len() >= RATELIMIT_MAX_ENTRIES {
            return false;
        }
        self.buckets.insert(
            key,
            Bucket {
                tokens: RATELIMIT_BURST - 1.0,
                last: now,
            },
        );
        true
    }

    /// Sources currently tracked.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// True when no source is tracked.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

/// v4 → its 4 bytes (tagged in byte 15 so it cannot equal a v6 key);
/// v6 → its first 8 bytes; anything else → up to 15 of its bytes.
fn bucket_key(ip: &[u8]) -> [u8; 16] {
    let mut key = [0u8; 16];
    let take = match ip.len() {
        16 => 8,
        n => n.min(15),
    };
    key[..take].copy_from_slice(&ip[..take]);
    key[15] = ip.len() as u8;
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::INITIATION_LEN;
    use crate::noise::kat::{self, bytes, key};

    fn seeded(seed: u8) -> Drbg {
        let mut rng = Drbg::new();
        rng.reseed(&[seed; 32]);
        rng
    }

    fn public_of(private_hex: &str) -> [u8; 32] {
        crate::noise::StaticKeys::from_private(key(private_hex)).public
    }

    /// The reference initiation with its MACs zeroed, as noise.rs leaves it.
    fn bare_initiation() -> Vec<u8> {
        let mut msg = bytes(kat::INITIATION);
        let len = msg.len();
        msg[len - 32..].fill(0);
        msg
    }

    #[test]
    fn mac1_matches_the_reference_and_checks() {
        let resp_public = public_of(kat::RESP_STATIC);
        let mut msg = bare_initiation();
        CookieGenerator::new(&resp_public).add_macs(&mut msg, 0.0);
        assert_eq!(msg, bytes(kat::INITIATION));
        let checker = CookieChecker::new(&resp_public);
        assert!(checker.check_mac1(&msg));
        for i in [0, 50, 115, 116, 131] {
            let mut bad = msg.clone();
            bad[i] ^= 4;
            assert!(!checker.check_mac1(&bad), "byte {}", i);
        }
        // MAC2 is not covered by MAC1.
        let mut with_mac2 = msg.clone();
        with_mac2[140] ^= 1;
        assert!(checker.check_mac1(&with_mac2));
        assert!(!CookieChecker::new(&public_of(kat::INIT_STATIC)).check_mac1(&msg));
        assert!(!checker.check_mac1(&msg[..31]));
    }

    #[test]
    fn cookie_reply_matches_the_reference() {
        let resp_public = public_of(kat::RESP_STATIC);
        let cookie = cookie_for(&key(kat::COOKIE_SECRET), &bytes(kat::COOKIE_SOURCE));
        assert_eq!(cookie.to_vec(), bytes(kat::COOKIE));
        let init = bytes(kat::INITIATION);
        let mut nonce = [0u8; 24];
        nonce.copy_from_slice(&bytes(kat::COOKIE_NONCE));
        let mut reply = [0u8; COOKIE_REPLY_LEN];
        let cookie_key = labelled_key(LABEL_COOKIE, &resp_public);
        seal_reply(
            &cookie_key,
            &cookie,
            &init[116..132],
            kat::INIT_INDEX,
            &nonce,
            &mut reply,
        );
        assert_eq!(reply.to_vec(), bytes(kat::COOKIE_REPLY));

        // The initiator takes the cookie and MACs its next message with it.
        let mut gen = CookieGenerator::new(&resp_public);
        let mut msg = bare_initiation();
        gen.add_macs(&mut msg, 0.0);
        gen.consume_reply(&reply, 10.0).unwrap();
        gen.add_macs(&mut msg, 20.0);
        assert_eq!(msg[132..].to_vec(), bytes(kat::INITIATION_MAC2));
    }

    #[test]
    fn cookie_round_trip_gives_a_mac2_the_checker_accepts() {
        let resp_public = public_of(kat::RESP_STATIC);
        let source = [127, 0, 0, 1, 0xCA, 0x6C];
        let mut rng = seeded(3);
        let mut checker = CookieChecker::new(&resp_public);
        let mut gen = CookieGenerator::new(&resp_public);

        let mut msg = bare_initiation();
        gen.add_macs(&mut msg, 1000.0);
        assert!(checker.check_mac1(&msg));
        assert!(
            !checker.check_mac2(&msg, &source, 1000.0, &mut rng),
            "no cookie yet"
        );
        assert_eq!(msg[132..], [0u8; 16]);

        let mut reply = [0u8; COOKIE_REPLY_LEN];
        checker
            .create_reply(&msg, kat::INIT_INDEX, &source, 1001.0, &mut rng, &mut reply)
            .unwrap();
        assert_eq!(crate::noise::receiver_index(&reply), Some(kat::INIT_INDEX));
        gen.consume_reply(&reply, 1002.0).unwrap();

        let mut next = bare_initiation();
        next[8] ^= 1; // a different message, MACed afresh
        gen.add_macs(&mut next, 1003.0);
        assert!(checker.check_mac1(&next));
        assert!(checker.check_mac2(&next, &source, 1004.0, &mut rng));
        // The cookie is bound to the source address and port.
        assert!(!checker.check_mac2(&next, &[127, 0, 0, 1, 0xCA, 0x6D], 1004.0, &mut rng));
        assert!(!checker.check_mac2(&next, &[127, 0, 0, 2, 0xCA, 0x6C], 1004.0, &mut rng));
        let mut bad = next.clone();
        bad[20] ^= 1;
        assert!(!checker.check_mac2(&bad, &source, 1004.0, &mut rng));
    }

    #[test]
    fn cookie_secret_rotates_after_two_minutes() {
        let resp_public = public_of(kat::RESP_STATIC);
        let source = [10, 0, 0, 1, 0, 80];
        let mut rng = seeded(4);
        let mut checker = CookieChecker::new(&resp_public);
        let mut gen = CookieGenerator::new(&resp_public);
        let mut msg = bare_initiation();
        gen.add_macs(&mut msg, 0.0);
        let mut reply = [0u8; COOKIE_REPLY_LEN];
        checker
            .create_reply(&msg, 1, &source, 0.0, &mut rng, &mut reply)
            .unwrap();
        gen.consume_reply(&reply, 0.0).unwrap();
        gen.add_macs(&mut msg, 100.0);
        assert!(checker.check_mac2(&msg, &source, 119_000.0, &mut rng));
        assert!(
            !checker.check_mac2(&msg, &source, 120_000.0, &mut rng),
            "old secret still accepted"
        );
        // A fresh cookie under the new secret works again.
        checker
            .create_reply(&msg, 1, &source, 120_001.0, &mut rng, &mut reply)
            .unwrap();
        gen.consume_reply(&reply, 120_002.0).unwrap();
        gen.add_macs(&mut msg, 120_003.0);
        assert!(checker.check_mac2(&msg, &source, 120_004.0, &mut rng));
    }

    #[test]
    fn held_cookie_expires_for_the_initiator() {
        let resp_public = public_of(kat::RESP_STATIC);
        let mut rng = seeded(5);
        let mut checker = CookieChecker::new(&resp_public);
        let mut gen = CookieGenerator::new(&resp_public);
        let mut msg = bare_initiation();
        gen.add_macs(&mut msg, 0.0);
        let mut reply = [0u8; COOKIE_REPLY_LEN];
        checker
            .create_reply(&msg, 1, &[1, 2, 3, 4, 0, 1], 0.0, &mut rng, &mut reply)
            .unwrap();
        gen.consume_reply(&reply, 0.0).unwrap();
        gen.add_macs(&mut msg, COOKIE_MAX_AGE - 1.0);
        assert_ne!(msg[132..], [0u8; 16]);
        gen.add_macs(&mut msg, COOKIE_MAX_AGE);
        assert_eq!(msg[132..], [0u8; 16]);
    }

    #[test]
    fn cookie_reply_needs_our_last_mac1() {
        let resp_public = public_of(kat::RESP_STATIC);
        let mut rng = seeded(6);
        let mut checker = CookieChecker::new(&resp_public);
        let mut gen = CookieGenerator::new(&resp_public);
        let mut msg = bare_initiation();
        let mut reply = [0u8; COOKIE_REPLY_LEN];
        gen.add_macs(&mut msg, 0.0);
        checker
            .create_reply(&msg, 1, &[1, 2, 3, 4, 0, 1], 0.0, &mut rng, &mut reply)
            .unwrap();

        let mut fresh = CookieGenerator::new(&resp_public);
        assert_eq!(
            fresh.consume_reply(&reply, 0.0),
            Err(Reason::DecryptFailed),
            "nothing sent"
        );

        let mut tampered = reply;
        tampered[40] ^= 1;
        assert_eq!(
            gen.consume_reply(&tampered, 0.0),
            Err(Reason::DecryptFailed)
        );
        let mut wrong_type = reply;
        wrong_type[0] = 2;
        assert_eq!(gen.consume_reply(&wrong_type, 0.0), Err(Reason::Malformed));

        // After another message, the reply to the older one no longer opens.
        let mut other = bare_initiation();
        other[9] ^= 1;
        gen.add_macs(&mut other, 1.0);
        assert_eq!(gen.consume_reply(&reply, 1.0), Err(Reason::DecryptFailed));
        // A reply sealed for another responder's key does not open either.
        let mut gen_other = CookieGenerator::new(&public_of(kat::INIT_STATIC));
        gen_other.add_macs(&mut msg, 0.0);
        assert_eq!(
            gen_other.consume_reply(&reply, 0.0),
            Err(Reason::DecryptFailed)
        );
    }

    #[test]
    fn no_entropy_means_no_cookie_reply() {
        let mut rng = Drbg::new();
        let mut checker = CookieChecker::new(&[9; 32]);
        let msg = [0u8; INITIATION_LEN];
        let mut reply = [0u8; COOKIE_REPLY_LEN];
        let r = checker.create_reply(&msg, 1, &[1, 2, 3, 4, 0, 1], 0.0, &mut rng, &mut reply);
        assert_eq!(r, Err(Error::NoEntropy));
        assert!(!checker.check_mac2(&msg, &[1, 2, 3, 4, 0, 1], 0.0, &mut rng));
        assert_eq!(
            checker.create_reply(&msg[..10], 1, &[], 0.0, &mut rng, &mut reply),
            Err(Error::InvalidArgument)
        );
    }

    #[test]
    fn rate_limiter_allows_the_burst_then_twenty_per_second() {
        let mut limiter = RateLimiter::new();
        let ip = [192, 0, 2, 1];
        let burst = (0..10).filter(|_| limiter.allow(&ip, 0.0)).count();
        assert_eq!(burst, RATELIMIT_BURST as usize);
        // Ten seconds of one packet per millisecond: about 20 per second.
        let mut allowed = 0;
        for ms in 1..=10_000 {
            if limiter.allow(&ip, ms as f64) {
                allowed += 1;
            }
        }
        assert!(
            (199..=201).contains(&allowed),
            "allowed {} in 10 s",
            allowed
        );
        // Other sources are not affected; ports do not matter (not part of the key).
        assert!(limiter.allow(&[192, 0, 2, 2], 10_000.0));
        // After a pause the burst is available again.
        let again = (0..10).filter(|_| limiter.allow(&ip, 20_000.0)).count();
        assert_eq!(again, RATELIMIT_BURST as usize);
    }

    #[test]
    fn rate_limiter_counts_ipv6_per_64_and_keeps_families_apart() {
        let mut limiter = RateLimiter::new();
        let mut a = [0u8; 16];
        a[0] = 0x20;
        a[1] = 0x01;
        let mut b = a;
        b[15] = 7; // same /64
        for _ in 0..5 {
            assert!(limiter.allow(&a, 0.0));
        }
        assert!(!limiter.allow(&b, 0.0), "same /64 shares a bucket");
        let mut c = a;
        c[7] = 1; // another /64
        assert!(limiter.allow(&c, 0.0));
        assert!(limiter.allow(&[0x20, 0x01, 0, 0], 0.0), "v4 apart from v6");
    }

    #[test]
    fn rate_limiter_memory_is_bounded_and_old_entries_go() {
        let mut limiter = RateLimiter::new();
        for i in 0..5000u32 {
            limiter.allow(&i.to_be_bytes(), 0.0);
        }
        assert_eq!(limiter.len(), RATELIMIT_MAX_ENTRIES);
        assert!(
            !limiter.allow(&[250, 0, 0, 1], 10.0),
            "a full table refuses new sources"
        );
        assert!(limiter.allow(&[250, 0, 0, 1], 1000.0));
        assert_eq!(limiter.len(), 1, "entries idle for a second are forgotten");
    }
}
