//! ChaCha20-Poly1305 (RFC 8439 §2.8) and XChaCha20-Poly1305
//! (draft-irtf-cfrg-xchacha §2.3), sealing and opening in place.
//!
//! One pass over the message. A keystream step makes 256 bytes in the
//! vector units while Poly1305, in the scalar ones, absorbs ciphertext
//! between its rounds: when sealing, what the steps before wrote; when
//! opening, what this step will decrypt. The MAC's blocks then cost about a
//! quarter of what they cost on their own. Only the first step (block 0 is
//! Poly1305's key, so nothing can be absorbed yet) and, when sealing, the MAC
//! of the last step's ciphertext run alone. Every branch depends on lengths
//! only.
//!
//! Where sealing a 1420-byte packet goes (V8, x86-64): the six keystream
//! steps about 85% (a step absorbing sixteen MAC blocks takes about 8% longer
//! than one absorbing none), the thirteen blocks of the last step's
//! ciphertext about 7%, the call and the tag the rest. Measured and dropped: block 0 made in
//! scalar registers beside the first vector step (blocks 1 to 4), which
//! would leave nine blocks alone instead of thirteen, cost more than it saved
//! (LLVM also vectorized the scalar rounds badly); opening with each step's
//! keystream applied a step late, so the head's blocks are absorbed beside
//! rounds too, was no faster (the late rows spill).

use crate::chacha20::{self, Stream, STEP};
use crate::ct::{ct_eq, wipe};
use crate::poly1305::{wipe_16, Acc};

/// WireGuard's nonce: 4 zero bytes, then the 64-bit counter little-endian.
fn counter_nonce(counter: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&counter.to_le_bytes());
    n
}

/// Bytes of the message the first keystream step covers: blocks 1..4 (block 0
/// is the Poly1305 key).
const HEAD_LEN: usize = STEP - 64;

/// Ciphertext `p[pos..end]` still to absorb, and the Poly1305 state (in
/// locals: it never reaches linear memory). Between the half rounds of a
/// keystream step it absorbs one 16-byte block: twenty a step, more than the
/// sixteen a step makes. (One block there measured faster than two after
/// each double round.)
struct MacQueue {
    acc: Acc,
    p: *const u8,
    pos: usize,
    end: usize,
}

impl chacha20::Interleave for MacQueue {
    #[inline(always)]
    fn between(&mut self) {
        // Safety: whoever sets `end` keeps p[pos..end] readable.
        unsafe { self.one() }
    }
}

impl MacQueue {
    /// Absorbs the next whole block, if there is one.
    ///
    /// # Safety
    /// `p[pos..end]` must be readable.
    #[inline(always)]
    unsafe fn one(&mut self) {
        if self.pos + 16 <= self.end {
            self.acc.block_at(self.p.add(self.pos));
            self.pos += 16;
        }
    }

    /// Absorbs the rest: whole blocks, then a partial one padded with zeros
    /// (RFC 8439 §2.8's pad16), so `end` must be the end of the ciphertext.
    ///
    /// # Safety
    /// `p[pos..end]` must be readable.
    #[inline(always)]
    unsafe fn finish(&mut self) {
        let mut last = [0u8; 16];
        while self.pos < self.end {
            let mut block = self.p.add(self.pos);
            if self.end - self.pos < 16 {
                core::ptr::copy_nonoverlapping(block, last.as_mut_ptr(), self.end - self.pos);
                block = last.as_ptr();
            }
            self.acc.block_at(block);
            self.pos = self.end.min(self.pos + 16);
        }
    }
}

/// Which way a pass goes. Poly1305 reads the ciphertext either way: when
/// sealing, once a step has written it; when opening, before a step decrypts it.
#[derive(Clone, Copy, PartialEq)]
enum Way {
    Seal,
    Open,
}

/// XORs the keystream into `in_out` and returns the tag over `aad` and the
/// ciphertext, in one pass: each keystream step makes the next 256 bytes
/// while Poly1305 absorbs ciphertext between its rounds. One function for
/// both ways, never inlined, so one copy of the loop serves every caller.
#[inline(never)]
fn one_pass(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], in_out: &mut [u8], way: Way) -> [u8; 16] {
    let mut stream = Stream::new(key, 0, nonce);
    // The first step: block 0 keys Poly1305, blocks 1..4 cover the first
    // HEAD_LEN bytes; nothing can be absorbed beside its rounds.
    let ks = stream.keystream4(&mut ());
    stream.advance();
    // Poly1305's one-time key is block 0's first 32 bytes: r, then s. The
    // MAC's whole state lives in locals, like the keystream: no copy of the
    // key, r or h is ever stored in linear memory, so there is none to wipe.
    let [[r_lo, r_hi], [s_lo, s_hi]] = [ks[0].halves(), ks[1].halves()];
    let mut queue = MacQueue {
        acc: Acc::from_r(r_lo, r_hi),
        p: aad.as_ptr(),
        pos: 0,
        end: aad.len(),
    };
    let len = in_out.len();
    let p = in_out.as_mut_ptr();
    let mut at = len.min(HEAD_LEN);
    // How far Poly1305 may read ahead of the keystream: sealing, not at all
    // (it reads what earlier steps wrote); opening, the bytes a step is about
    // to decrypt. Arithmetic, not a branch, so one loop serves both ways.
    let ahead = (way == Way::Open) as usize;
    // Every pointer below stays within aad or in_out[..len]; `queue.end` only
    // ever marks the end of either or a multiple of 16 bytes.
    unsafe {
        // The AAD, its last block padded with zeros (RFC 8439 §2.8's pad16).
        queue.finish();
        queue.p = p;
        queue.pos = 0;
        // Opening: nothing ran beside the head's rounds; its ciphertext is read now.
        queue.end = at * ahead;
        queue.finish();
        // Rows 4.. of the head are blocks 1..4, the message's first bytes.
        chacha20::xor_rows_from(&ks, 4, p, at);
        while at < len {
            let n = (len - at).min(STEP);
            queue.end = at + n * ahead;
            let ks = stream.keystream4(&mut queue);
            // Whatever the rounds left, before it is decrypted.
            queue.finish();
            chacha20::xor_rows(&ks, p.add(at), n);
            stream.advance();
            at += n;
        }
        // Sealing: the last step's ciphertext (opening has none left).
        queue.end = len;
        queue.finish();
    }
    queue.acc.lengths(aad.len(), len);
    queue.acc.tag(s_lo, s_hi)
}

/// Encrypts `in_out` in place with a 12-byte nonce; returns the tag.
pub fn seal_nonce(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], in_out: &mut [u8]) -> [u8; 16] {
    one_pass(key, nonce, aad, in_out, Way::Seal)
}

/// Checks the tag and decrypts in place; on failure `in_out` is left unchanged:
/// it is encrypted again, so it holds the ciphertext it came with and none of
/// the plaintext.
pub fn open_nonce(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    in_out: &mut [u8],
    expected: &[u8; 16],
) -> Result<(), ()> {
    let mut t = one_pass(key, nonce, aad, in_out, Way::Open);
    let ok = ct_eq(&t, expected);
    wipe_16(&mut t);
    if !ok {
        chacha20::xor_in_place(key, 1, nonce, in_out);
        return Err(());
    }
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
    use crate::test_rand::Rand;

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

    /// ChaCha20-Poly1305 the plain way: the one-block ChaCha20 code, block
    /// after block, and the reference Poly1305 over RFC 8439 §2.8's layout.
    fn reference_seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], msg: &[u8]) -> Vec<u8> {
        let otk: [u8; 32] = chacha20::block(key, 0, nonce)[..32].try_into().unwrap();
        let mut ct = msg.to_vec();
        for (i, chunk) in ct.chunks_mut(64).enumerate() {
            let ks = chacha20::block(key, 1 + i as u32, nonce);
            for (c, k) in chunk.iter_mut().zip(ks.iter()) {
                *c ^= k;
            }
        }
        let pad = |v: &mut Vec<u8>| v.resize((v.len() + 15) / 16 * 16, 0);
        let mut mac_data = aad.to_vec();
        pad(&mut mac_data);
        mac_data.extend_from_slice(&ct);
        pad(&mut mac_data);
        mac_data.extend_from_slice(&(aad.len() as u64).to_le_bytes());
        mac_data.extend_from_slice(&(ct.len() as u64).to_le_bytes());
        ct.extend_from_slice(&crate::poly1305::reference::mac(&otk, &mac_data));
        ct
    }

    /// Every length from 0 to 2048 (so every way the head, the 256-byte
    /// steps and the last partial block can meet), with AAD of every length
    /// to 40, at every offset within 16 bytes of a larger buffer whose other
    /// bytes must stay as they were; opening restores the message and a
    /// flipped bit anywhere fails and leaves the buffer unchanged.
    #[test]
    fn seal_and_open_match_the_reference_at_every_length_offset_and_aad() {
        let mut rng = Rand(0xaead_0001);
        for len in 0..=2048usize {
            let key: [u8; 32] = rng.bytes(32).try_into().unwrap();
            let nonce: [u8; 12] = rng.bytes(12).try_into().unwrap();
            let aad = rng.bytes(len % 41);
            let msg = rng.bytes(len);
            let offset = (len / 7) % 16;
            let expected = reference_seal(&key, &nonce, &aad, &msg);

            let guard = rng.bytes(offset + len + 16);
            let mut buf = guard.clone();
            buf[offset..offset + len].copy_from_slice(&msg);
            let tag = seal_nonce(&key, &nonce, &aad, &mut buf[offset..offset + len]);
            assert_eq!(&buf[offset..offset + len], &expected[..len], "length {len}");
            assert_eq!(&tag[..], &expected[len..], "length {len}");
            assert_eq!(&buf[..offset], &guard[..offset]);
            assert_eq!(&buf[offset + len..], &guard[offset + len..]);

            let sealed = buf.clone();
            let opened = open_nonce(&key, &nonce, &aad, &mut buf[offset..offset + len], &tag);
            assert_eq!(opened, Ok(()), "length {len}");
            assert_eq!(&buf[offset..offset + len], &msg[..]);
            assert_eq!(&buf[..offset], &guard[..offset]);
            assert_eq!(&buf[offset + len..], &guard[offset + len..]);

            let mut bad = sealed.clone();
            let mut bad_tag = tag;
            let bit = rng.next() as usize % ((len + 16) * 8);
            if bit / 8 < len {
                bad[offset + bit / 8] ^= 1 << (bit % 8);
            } else {
                bad_tag[bit / 8 - len] ^= 1 << (bit % 8);
            }
            let before = bad.clone();
            let r = open_nonce(&key, &nonce, &aad, &mut bad[offset..offset + len], &bad_tag);
            assert_eq!(r, Err(()), "length {len}, bit {bit}");
            assert_eq!(
                bad, before,
                "length {len}: a failed open changed the buffer"
            );
        }
    }

    #[test]
    fn xchacha_matches_hchacha_then_the_reference() {
        let mut rng = Rand(0xaead_0002);
        for len in [0usize, 1, 191, 192, 193, 447, 448, 449, 1420, 2048] {
            let key: [u8; 32] = rng.bytes(32).try_into().unwrap();
            let nonce: [u8; 24] = rng.bytes(24).try_into().unwrap();
            let aad = rng.bytes(16);
            let msg = rng.bytes(len);
            let (sub, n) = extended(&key, &nonce);
            let expected = reference_seal(&sub, &n, &aad, &msg);
            let mut buf = msg.clone();
            let tag = xseal(&key, &nonce, &aad, &mut buf);
            assert_eq!([&buf[..], &tag[..]].concat(), expected, "length {len}");
            assert_eq!(xopen(&key, &nonce, &aad, &mut buf, &tag), Ok(()));
            assert_eq!(buf, msg);
        }
    }
}
