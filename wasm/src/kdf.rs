//! HMAC-BLAKE2s and WireGuard's HKDF chain (whitepaper §5.4: `Hmac`, `Kdf1..3`).

use crate::blake2s::Blake2s;
use crate::ct::wipe;

const BLOCK: usize = 64;

/// HMAC (RFC 2104) over BLAKE2s-256 of the concatenation of `parts`.
pub fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        crate::blake2s::hash(&mut k[..32], &[], &[key]);
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut pad = [0u8; BLOCK];
    for i in 0..BLOCK {
        pad[i] = k[i] ^ 0x36;
    }
    let mut inner = [0u8; 32];
    let mut s = Blake2s::new(32);
    s.update(&pad);
    for p in parts {
        s.update(p);
    }
    s.finalize(&mut inner);
    for i in 0..BLOCK {
        pad[i] = k[i] ^ 0x5c;
    }
    let mut out = [0u8; 32];
    let mut s = Blake2s::new(32);
    s.update(&pad);
    s.update(&inner);
    s.finalize(&mut out);
    wipe(&mut k);
    wipe(&mut pad);
    wipe(&mut inner);
    out
}

/// `Kdf1(key, input)`: τ0 = Hmac(key, input), τ1 = Hmac(τ0, 0x1).
pub fn kdf1(key: &[u8; 32], input: &[u8]) -> [u8; 32] {
    let mut t0 = hmac(key, &[input]);
    let t1 = hmac(&t0, &[&[1]]);
    wipe(&mut t0);
    t1
}

/// `Kdf2(key, input)`: τ1 as in `kdf1`, τ2 = Hmac(τ0, τ1 ‖ 0x2).
pub fn kdf2(key: &[u8; 32], input: &[u8]) -> ([u8; 32], [u8; 32]) {
    let mut t0 = hmac(key, &[input]);
    let t1 = hmac(&t0, &[&[1]]);
    let t2 = hmac(&t0, &[&t1, &[2]]);
    wipe(&mut t0);
    (t1, t2)
}

/// `Kdf3(key, input)`: τ1, τ2 as in `kdf2`, τ3 = Hmac(τ0, τ2 ‖ 0x3).
pub fn kdf3(key: &[u8; 32], input: &[u8]) -> ([u8; 32], [u8; 32], [u8; 32]) {
    let mut t0 = hmac(key, &[input]);
    let t1 = hmac(&t0, &[&[1]]);
    let t2 = hmac(&t0, &[&t1, &[2]]);
    let t3 = hmac(&t0, &[&t2, &[3]]);
    wipe(&mut t0);
    (t1, t2, t3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blake2s::{hash, hex};

    /// HMAC written straight from RFC 2104 with heap buffers, as a reference.
    fn slow_hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
        let mut k = if key.len() > 64 {
            let mut d = [0u8; 32];
            hash(&mut d, &[], &[key]);
            d.to_vec()
        } else {
            key.to_vec()
        };
        k.resize(64, 0);
        let mut inner_msg: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
        inner_msg.extend_from_slice(msg);
        let mut inner = [0u8; 32];
        hash(&mut inner, &[], &[&inner_msg]);
        let mut outer_msg: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
        outer_msg.extend_from_slice(&inner);
        let mut out = [0u8; 32];
        hash(&mut out, &[], &[&outer_msg]);
        out
    }

    #[test]
    fn hmac_known_answers() {
        assert_eq!(
            hmac(
                b"key",
                &[b"The quick brown fox ", b"jumps over the lazy dog"]
            )
            .to_vec(),
            hex("f93215bb90d4af4c3061cd932fb169fb8bb8a91d0b4022baea1271e1323cd9a0")
        );
        let long_key: Vec<u8> = (0..100u8).collect();
        assert_eq!(
            hmac(&long_key, &[b"msg"]).to_vec(),
            hex("d262c404e86fa6bc5be7b1aabcdc6737627e135c5b98de4a3b85ebc08ac01d54")
        );
    }

    #[test]
    fn hmac_matches_slow_reference_for_many_key_and_message_lengths() {
        for klen in [0usize, 1, 31, 32, 33, 63, 64, 65, 130] {
            let key: Vec<u8> = (0..klen).map(|i| (i * 13 + 1) as u8).collect();
            for mlen in [0usize, 1, 55, 64, 65, 200] {
                let msg: Vec<u8> = (0..mlen).map(|i| (i * 29 + 5) as u8).collect();
                assert_eq!(
                    hmac(&key, &[&msg]),
                    slow_hmac(&key, &msg),
                    "k{} m{}",
                    klen,
                    mlen
                );
            }
        }
    }

    #[test]
    fn kdf_chain_by_definition_and_known_answer() {
        let mut ck = [0u8; 32];
        hash(&mut ck, &[], &[crate::messages::CONSTRUCTION]);
        assert_eq!(
            ck.to_vec(),
            hex("60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36")
        );
        let (a, b, c) = kdf3(&ck, b"input");
        assert_eq!(
            a.to_vec(),
            hex("b58cc55b688b51fcda705a763c82c5a1ea46dab2cfaeedc9c8f6bc0df2871ad8")
        );
        assert_eq!(
            b.to_vec(),
            hex("3064288b2ce6072476471566eabb2ab5bbbb06904ba6b0b8e0e785b713b31fc8")
        );
        assert_eq!(
            c.to_vec(),
            hex("a6e4e28580f50a3ad5f3fdcc00254bc616a28d39ecb88ff1dafb94b8ec21d8af")
        );
        let t0 = slow_hmac(&ck, b"input");
        let t1 = slow_hmac(&t0, &[1]);
        assert_eq!(kdf1(&ck, b"input"), t1);
        let (k1, k2) = kdf2(&ck, b"input");
        assert_eq!(k1, t1);
        assert_eq!(k2, slow_hmac(&t0, &[&t1[..], &[2]].concat()));
    }
}
