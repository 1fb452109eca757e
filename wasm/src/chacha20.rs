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

#[cfg(not(target_arch = "wasm32"))]
fn simd_xor(_state: &mut [u32; 16], _data: &mut [u8]) -> usize {
    0
}

#[cfg(target_arch = "wasm32")]
fn simd_xor(state: &mut [u32; 16], data: &mut [u8]) -> usize {
    simd::xor(state, data)
}

/// Four blocks at once: lane b of vector k holds word k of block counter + b.
#[cfg(target_arch = "wasm32")]
mod simd {
    use core::arch::wasm32::*;

    /// The 16-bit rotate as a byte shuffle. (The 8-bit one measured faster as
    /// two shifts and an OR under V8 than as a byte shuffle, so it uses `rotl`.)
    #[inline(always)]
    fn rotl16(x: v128) -> v128 {
        i8x16_shuffle::<2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13>(x, x)
    }

    #[inline(always)]
    fn rotl<const L: u32, const R: u32>(x: v128) -> v128 {
        v128_or(u32x4_shl(x, L), u32x4_shr(x, R))
    }

    #[inline(always)]
    fn quarter(x: &mut [v128; 16], a: usize, b: usize, c: usize, d: usize) {
        x[a] = u32x4_add(x[a], x[b]);
        x[d] = rotl16(v128_xor(x[d], x[a]));
        x[c] = u32x4_add(x[c], x[d]);
        x[b] = rotl::<12, 20>(v128_xor(x[b], x[c]));
        x[a] = u32x4_add(x[a], x[b]);
        x[d] = rotl::<8, 24>(v128_xor(x[d], x[a]));
        x[c] = u32x4_add(x[c], x[d]);
        x[b] = rotl::<7, 25>(v128_xor(x[b], x[c]));
    }

    /// Transposes four vectors: out[b] = (a[b], b[b], c[b], d[b]).
    #[inline(always)]
    fn transpose(a: v128, b: v128, c: v128, d: v128) -> [v128; 4] {
        let t0 = i32x4_shuffle::<0, 4, 1, 5>(a, b);
        let t1 = i32x4_shuffle::<2, 6, 3, 7>(a, b);
        let t2 = i32x4_shuffle::<0, 4, 1, 5>(c, d);
        let t3 = i32x4_shuffle::<2, 6, 3, 7>(c, d);
        [
            i64x2_shuffle::<0, 2>(t0, t2),
            i64x2_shuffle::<1, 3>(t0, t2),
            i64x2_shuffle::<0, 2>(t1, t3),
            i64x2_shuffle::<1, 3>(t1, t3),
        ]
    }

    /// The four counters of one step, in the lanes of word 12.
    #[inline(always)]
    fn counters(state: &[u32; 16]) -> v128 {
        u32x4_add(u32x4_splat(state[12]), u32x4(0, 1, 2, 3))
    }

    /// 256 bytes of keystream for counters state[12] .. state[12] + 3,
    /// as 16 vectors in output order (block 0 bytes 0..16, 16..32, ...).
    #[inline(always)]
    fn keystream(state: &[u32; 16]) -> [v128; 16] {
        let mut x = [u32x4_splat(0); 16];
        for (k, v) in x.iter_mut().enumerate() {
            *v = u32x4_splat(state[k]);
        }
        x[12] = counters(state);
        for _ in 0..10 {
            quarter(&mut x, 0, 4, 8, 12);
            quarter(&mut x, 1, 5, 9, 13);
            quarter(&mut x, 2, 6, 10, 14);
            quarter(&mut x, 3, 7, 11, 15);
            quarter(&mut x, 0, 5, 10, 15);
            quarter(&mut x, 1, 6, 11, 12);
            quarter(&mut x, 2, 7, 8, 13);
            quarter(&mut x, 3, 4, 9, 14);
        }
        // Add the input words again, rebuilt rather than kept alive through the rounds.
        for k in 0..16 {
            let input = if k == 12 {
                counters(state)
            } else {
                u32x4_splat(state[k])
            };
            x[k] = u32x4_add(x[k], input);
        }
        let mut out = [u32x4_splat(0); 16];
        for group in 0..4 {
            let k = 4 * group;
            let t = transpose(x[k], x[k + 1], x[k + 2], x[k + 3]);
            for (block, v) in t.iter().enumerate() {
                out[4 * block + group] = *v;
            }
        }
        out
    }

    /// XORs all of `data` with the keystream, four blocks per step; returns `data.len()`.
    pub fn xor(state: &mut [u32; 16], data: &mut [u8]) -> usize {
        let mut chunks = data.chunks_exact_mut(256);
        for chunk in &mut chunks {
            let ks = keystream(state);
            let p = chunk.as_mut_ptr() as *mut v128;
            for (i, k) in ks.iter().enumerate() {
                // Unaligned loads and stores are allowed in wasm.
                unsafe { v128_store(p.add(i), v128_xor(v128_load(p.add(i)), *k)) };
            }
            state[12] = state[12].wrapping_add(4);
        }
        let tail = chunks.into_remainder();
        if !tail.is_empty() {
            let mut ks = keystream(state);
            let bytes = unsafe { core::slice::from_raw_parts(ks.as_ptr() as *const u8, 256) };
            for (d, k) in tail.iter_mut().zip(bytes.iter()) {
                *d ^= k;
            }
            state[12] = state[12].wrapping_add(((tail.len() + 63) / 64) as u32);
            for v in ks.iter_mut() {
                unsafe { core::ptr::write_volatile(v, u32x4_splat(0)) };
            }
        }
        data.len()
    }
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
