//! A ChaCha20-based DRBG with fast key erasure. The host mixes in entropy
//! (`wg_entropy`); nothing random is produced before 32 bytes have come in.
//!
//! Each request runs ChaCha20 under the current key: the first 32 bytes of
//! keystream replace the key, the rest are the output, so a later compromise
//! of the state does not reveal earlier outputs.

use crate::ct::wipe;
use crate::messages::Error;

/// Entropy the host must supply before the generator produces anything.
const MIN_SEED_BYTES: usize = 32;

/// The generator: a ChaCha20 key that every request replaces, and how much
/// entropy has come in so far.
pub struct Drbg {
    key: [u8; 32],
    seeded_bytes: usize,
}

impl Drbg {
    /// An unseeded generator; `fill` fails until `reseed` has supplied 32 bytes.
    pub const fn new() -> Self {
        Drbg {
            key: [0; 32],
            seeded_bytes: 0,
        }
    }

    /// Mixes `entropy` into the key: key = BLAKE2s(key = old key, "wgcage drbg reseed" ‖ entropy).
    pub fn reseed(&mut self, entropy: &[u8]) {
        let old = self.key;
        crate::blake2s::hash(&mut self.key, &old, &[b"wgcage drbg reseed", entropy]);
        let mut old = old;
        wipe(&mut old);
        self.seeded_bytes = self.seeded_bytes.saturating_add(entropy.len());
    }

    /// True once at least 32 bytes of entropy have been mixed in.
    pub fn is_seeded(&self) -> bool {
        self.seeded_bytes >= MIN_SEED_BYTES
    }

    /// Fills `out` with random bytes, or `Err(NoEntropy)` before seeding.
    pub fn fill(&mut self, out: &mut [u8]) -> Result<(), Error> {
        if !self.is_seeded() {
            return Err(Error::NoEntropy);
        }
        let nonce = [0u8; 12];
        let mut old = self.key;
        let mut first = crate::chacha20::block(&old, 0, &nonce);
        self.key.copy_from_slice(&first[..32]);
        let from_first = out.len().min(32);
        out[..from_first].copy_from_slice(&first[32..32 + from_first]);
        if out.len() > 32 {
            let rest = &mut out[32..];
            for b in rest.iter_mut() {
                *b = 0;
            }
            crate::chacha20::xor_in_place(&old, 1, &nonce, rest);
        }
        wipe(&mut first);
        wipe(&mut old);
        Ok(())
    }

    /// A uniformly random 32-bit word.
    pub fn next_u32(&mut self) -> Result<u32, Error> {
        let mut b = [0u8; 4];
        self.fill(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
}

impl Default for Drbg {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_before_32_bytes_of_entropy() {
        let mut d = Drbg::new();
        let mut out = [0u8; 8];
        assert_eq!(d.fill(&mut out), Err(Error::NoEntropy));
        assert_eq!(d.next_u32(), Err(Error::NoEntropy));
        d.reseed(&[1u8; 31]);
        assert!(!d.is_seeded());
        assert_eq!(d.fill(&mut out), Err(Error::NoEntropy));
        d.reseed(&[2u8; 1]);
        assert!(d.is_seeded());
        assert!(d.fill(&mut out).is_ok());
    }

    #[test]
    fn same_seed_same_stream_and_outputs_never_repeat() {
        let mut a = Drbg::new();
        let mut b = Drbg::new();
        a.reseed(&[9u8; 32]);
        b.reseed(&[9u8; 32]);
        let mut seen = std::collections::HashSet::new();
        for len in [1usize, 4, 32, 33, 64, 100, 1000] {
            let mut x = vec![0u8; len];
            let mut y = vec![0u8; len];
            a.fill(&mut x).unwrap();
            b.fill(&mut y).unwrap();
            assert_eq!(x, y);
            if len >= 4 {
                assert!(seen.insert(x.clone()), "repeated output");
            }
        }
        let mut c = Drbg::new();
        c.reseed(&[8u8; 32]);
        let mut x = [0u8; 32];
        let mut y = [0u8; 32];
        a.fill(&mut x).unwrap();
        c.fill(&mut y).unwrap();
        assert_ne!(x, y);
    }

    #[test]
    fn reseeding_changes_the_stream() {
        let mut a = Drbg::new();
        let mut b = Drbg::new();
        a.reseed(&[3u8; 32]);
        b.reseed(&[3u8; 32]);
        b.reseed(&[0u8; 1]);
        let mut x = [0u8; 16];
        let mut y = [0u8; 16];
        a.fill(&mut x).unwrap();
        b.fill(&mut y).unwrap();
        assert_ne!(x, y);
    }

    #[test]
    fn output_bits_look_balanced() {
        let mut d = Drbg::new();
        d.reseed(b"0123456789abcdef0123456789abcdef");
        let mut buf = vec![0u8; 1 << 16];
        d.fill(&mut buf).unwrap();
        let ones: u32 = buf.iter().map(|b| b.count_ones()).sum();
        let n = (buf.len() * 8) as f64;
        // Within 5 standard deviations of n/2.
        assert!(((ones as f64) - n / 2.0).abs() < 5.0 * (n / 4.0).sqrt());
        let words: Vec<u32> = (0..1000).map(|_| d.next_u32().unwrap()).collect();
        let distinct: std::collections::HashSet<_> = words.iter().collect();
        assert_eq!(distinct.len(), 1000);
    }
}
