//! ChaCha20-Poly1305 (RFC 8439 §2.8) and XChaCha20-Poly1305
//! (draft-irtf-cfrg-xchacha §2.3), sealing and opening in place.

use crate::chacha20;
use crate::ct::{ct_eq, wipe};
use crate::poly1305::Poly1305;

/// WireGuard's nonce: 4 zero bytes, then the 64-bit counter little-endian.
fn counter_nonce(counter: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&counter.to_le_bytes());
    n
}

/// Keystream blocks 0..4 in one go (one SIMD step on wasm32): block 0 gives the
/// Poly1305 key, blocks 1..4 encrypt the first 192 bytes of the message.
struct Head {
    stream: [u8; 256],
}

const HEAD_LEN: usize = 192;

impl Head {
    fn new(key: &[u8; 32], nonce: &[u8; 12]) -> Self {
        let mut stream = [0u8; 256];
        chacha20::xor_in_place(key, 0, nonce, &mut stream);
        Head { stream }
    }

    fn one_time_key(&self) -> [u8; 32] {
        self.stream[..32].try_into().unwrap()
    }

    /// XORs the keystream from block 1 on into `data`.
    fn apply(&self, key: &[u8; 32], nonce: &[u8; 12], data: &mut [u8]) {
        let n = data.len().min(HEAD_LEN);
        for (d, k) in data[..n].iter_mut().zip(self.stream[64..].iter()) {
            *d ^= k;
        }
        if data.len() > HEAD_LEN {
            chacha20::xor_in_place(key, 4, nonce, &mut data[HEAD_LEN..]);
        }
    }
}

impl Drop for Head {
    fn drop(&mut self) {
        wipe(&mut self.stream);
    }
}

/// The tag over `aad` and the ciphertext under a one-time key.
fn tag(one_time_key: &[u8; 32], aad: &[u8], ciphertext: &[u8]) -> [u8; 16] {
    let mut p = Poly1305::new(one_time_key);
    p.update_padded(aad);
    p.update_padded(ciphertext);
    let mut lens = [0u8; 16];
    lens[..8].copy_from_slice(&(aad.len() as u64).to_le_bytes());
    lens[8..].copy_from_slice(&(ciphertext.len() as u64).to_le_bytes());
    p.update(&lens);
    p.finalize()
}

/// Encrypts `in_out` in place with a 12-byte nonce; returns the tag.
pub fn seal_nonce(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], in_out: &mut [u8]) -> [u8; 16] {
    let head = Head::new(key, nonce);
    head.apply(key, nonce, in_out);
    let mut otk = head.one_time_key();
    let t = tag(&otk, aad, in_out);
    wipe(&mut otk);
    t
}

/// Checks the tag first and decrypts in place only if it is right;
/// on failure `in_out` is left unchanged.
pub fn open_nonce(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    in_out: &mut [u8],
    expected: &[u8; 16],
) -> Result<(), ()> {
    let head = Head::new(key, nonce);
    let mut otk = head.one_time_key();
    let mut t = tag(&otk, aad, in_out);
    wipe(&mut otk);
    let ok = ct_eq(&t, expected);
    wipe(&mut t);
    if !ok {
        return Err(());
    }
    head.apply(key, nonce, in_out);
    Ok(())
}

/// `seal_nonce` with WireGuard's counter nonce.
pub fn seal(key: &[u8; 32], counter: u64, aad: &[u8], in_out: &mut [u8]) -> [u8; 16] {
    seal_nonce(key, &counter_nonce(counter), aad, in_out)
}

/// `open_nonce` with WireGuard's counter nonce.
pub fn open(
    key: &[u8; 32],
    counter: u64,
    aad: &[u8],
    in_out: &mut [u8],
    tag: &[u8; 16],
) -> Result<(), ()> {
    open_nonce(key, &counter_nonce(counter), aad, in_out, tag)
}

/// The XChaCha20 subkey and 12-byte nonce for a 24-byte nonce.
fn extended(key: &[u8; 32], nonce: &[u8; 24]) -> ([u8; 32], [u8; 12]) {
    let mut head = [0u8; 16];
    head.copy_from_slice(&nonce[..16]);
    let sub = chacha20::hchacha20(key, &head);
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&nonce[16..]);
    (sub, n)
}

/// XChaCha20-Poly1305 seal in place; returns the tag.
pub fn xseal(key: &[u8; 32], nonce: &[u8; 24], aad: &[u8], in_out: &mut [u8]) -> [u8; 16] {
    let (mut sub, n) = extended(key, nonce);
    let t = seal_nonce(&sub, &n, aad, in_out);
    wipe(&mut sub);
    t
}

/// XChaCha20-Poly1305 open in place; `in_out` is unchanged on failure.
pub fn xopen(
    key: &[u8; 32],
    nonce: &[u8; 24],
    aad: &[u8],
    in_out: &mut [u8],
    tag: &[u8; 16],
) -> Result<(), ()> {
    let (mut sub, n) = extended(key, nonce);
    let r = open_nonce(&sub, &n, aad, in_out, tag);
    wipe(&mut sub);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blake2s::hex;

    const SUNSCREEN: &[u8] = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";

    fn key_80() -> [u8; 32] {
        hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
            .try_into()
            .unwrap()
    }

    #[test]
    fn rfc8439_2_6_2_one_time_key() {
        let nonce: [u8; 12] = hex("000000000001020304050607").try_into().unwrap();
        let b = chacha20::block(&key_80(), 0, &nonce);
        assert_eq!(
            b[..32].to_vec(),
            hex("8ad5a08b905f81cc815040274ab29471a833b637e3fd0da508dbb8e2fdd1a646")
        );
    }

    #[test]
    fn rfc8439_2_8_2_seal_and_open() {
        let nonce: [u8; 12] = hex("070000004041424344454647").try_into().unwrap();
        let aad = hex("50515253c0c1c2c3c4c5c6c7");
        let mut buf = SUNSCREEN.to_vec();
        let t = seal_nonce(&key_80(), &nonce, &aad, &mut buf);
        assert_eq!(
            buf,
            hex(
                "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6\
                 3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36\
                 92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc\
                 3ff4def08e4b7a9de576d26586cec64b6116"
            )
        );
        assert_eq!(t.to_vec(), hex("1ae10b594f09e26a7e902ecbd0600691"));
        assert_eq!(open_nonce(&key_80(), &nonce, &aad, &mut buf, &t), Ok(()));
        assert_eq!(buf, SUNSCREEN);
    }

    #[test]
    fn xchacha_draft_a_3_1() {
        let nonce: [u8; 24] = hex("404142434445464748494a4b4c4d4e4f5051525354555657")
            .try_into()
            .unwrap();
        let aad = hex("50515253c0c1c2c3c4c5c6c7");
        let mut buf = SUNSCREEN.to_vec();
        let t = xseal(&key_80(), &nonce, &aad, &mut buf);
        assert_eq!(
            buf,
            hex(
                "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb\
                 731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452\
                 2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9\
                 21f9664c97637da9768812f615c68b13b52e"
            )
        );
        assert_eq!(t.to_vec(), hex("c0875924c1c7987947deafd8780acf49"));
        assert_eq!(xopen(&key_80(), &nonce, &aad, &mut buf, &t), Ok(()));
        assert_eq!(buf, SUNSCREEN);
    }

    #[test]
    fn tampering_anywhere_fails_and_leaves_the_buffer_unchanged() {
        let key = [0x42u8; 32];
        let aad = b"header".to_vec();
        let mut ct = b"some plaintext of moderate length!".to_vec();
        let t = seal(&key, 7, &aad, &mut ct);
        for i in 0..ct.len() {
            let mut bad = ct.clone();
            bad[i] ^= 0x01;
            let before = bad.clone();
            assert_eq!(open(&key, 7, &aad, &mut bad, &t), Err(()));
            assert_eq!(bad, before);
        }
        for i in 0..16 {
            let mut bad_tag = t;
            bad_tag[i] ^= 0x80;
            let mut c = ct.clone();
            assert_eq!(open(&key, 7, &aad, &mut c, &bad_tag), Err(()));
            assert_eq!(c, ct);
        }
        let mut c = ct.clone();
        assert_eq!(open(&key, 8, &aad, &mut c, &t), Err(()));
        assert_eq!(open(&key, 7, b"Header", &mut c, &t), Err(()));
        assert_eq!(open(&key, 7, &aad, &mut c, &t), Ok(()));
        assert_eq!(c, b"some plaintext of moderate length!");
    }

    #[test]
    fn counter_nonce_is_four_zero_bytes_then_little_endian_counter() {
        let key = [1u8; 32];
        let mut a = vec![0u8; 40];
        let mut b = vec![0u8; 40];
        let ta = seal(&key, 0x0102030405060708, b"", &mut a);
        let nonce: [u8; 12] = hex("000000000807060504030201").try_into().unwrap();
        let tb = seal_nonce(&key, &nonce, b"", &mut b);
        assert_eq!((a, ta), (b, tb));
    }

    #[test]
    fn empty_message_keepalive_round_trip() {
        let key = [9u8; 32];
        let mut empty: [u8; 0] = [];
        let t = seal(&key, 3, &[], &mut empty);
        assert_eq!(open(&key, 3, &[], &mut empty, &t), Ok(()));
        assert_eq!(open(&key, 4, &[], &mut empty, &t), Err(()));
    }
}
