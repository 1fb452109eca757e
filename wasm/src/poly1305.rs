//! Poly1305 (RFC 8439 §2.5): the one-time authenticator.
//!
//! The accumulator is five 32-bit limbs (h4 holds the bits above 128) and r
//! four 32-bit limbs, so a block costs twenty 32×32→64-bit multiplies and the
//! message loads straight into limbs. Clamping clears the two low bits of
//! r1..r3, so 2^130 ≡ 5 folds in as s_i = r_i + r_i/4 = 5·r_i/4 exactly.
//! (In wasm32 under V8 this measured as fast as 26-bit limbs and about 25%
//! faster than a two-lane SIMD128 version of them; and it keeps the vector
//! units free for ChaCha20 when the AEAD runs both in one pass.) Carries are
//! lazy: the message is added to h without propagating and only the
//! multiply's column carries are kept in the chain, which measured about 1.5×
//! faster in V8 than carrying fully on every block.
//!
//! Why not several blocks at once in SIMD128, with powers of r: measured,
//! and under V8 (x86-64, AMD Zen 4) it does not pay. Tried as four lanes in
//! radix 2^26 (lane j takes blocks j, j + 4, …; times r^4 a group, the last
//! group times r^4, r^3, r^2, r), each 32×32→64 product one
//! `i64x2.extmul_{low,high}_i32x4_u`. LLVM 14 emits those only while both
//! zero-extends sit in the loop body: it hoists the extend of a
//! loop-invariant multiplier out of the loop and then emits an extend and an
//! `i64x2.mul` (eight instructions in V8), unless the multiplier is made
//! anew in the loop (or-ed with a zero read through a volatile load). Even at
//! one extmul a product (in V8 two lane shuffles and a `pmuludq` for two
//! products, with 24 live vectors that spill) it took 5.9 ns a block against
//! 7.1 for this scalar code (CPU time, 256 blocks), r^2..r^4 cost 30 ns more,
//! and as the blocks the AEAD absorbs alone after its last keystream step,
//! sealing a 1420-byte packet took 3–4% longer; out of line, 10% longer (the
//! accumulator then lives in linear memory). Scalar and lanes side by side
//! took 6.0 ns a block together: they do not overlap either. Beside the
//! keystream rounds the scalar MAC costs little (a step with sixteen blocks
//! absorbed takes about 8% longer than one without); what it costs alone is
//! the ciphertext of the last step.
//!
//! [`Acc`] is the state a block needs (r and h); the AEAD keeps one in locals
//! ([`Acc::from_r`]), feeds it whole blocks between ChaCha20 rounds and takes
//! the tag from it ([`Acc::tag`]), with no [`Poly1305`] and its buffer in
//! linear memory to fill and wipe: that measured about 5% of sealing a
//! 1420-byte packet.

use crate::ct::wipe;

/// The key's r and the accumulator h: everything a block needs, small
/// enough to live in registers while the AEAD feeds it between ChaCha20
/// rounds.
#[derive(Clone, Copy)]
pub(crate) struct Acc {
    /// r0..r3, clamped.
    r: [u64; 4],
    /// 5·r_i/4 for r1..r3.
    s: [u64; 3],
    /// h0 may exceed 32 bits (lazy carry); h1..h3 are below 2^32, h4 below 4.
    h: [u64; 5],
}

impl Acc {
    fn new(key: &[u8; 32]) -> Acc {
        Acc::from_r(le64(&key[0..]), le64(&key[8..]))
    }

    /// The state for r given as the key's first 16 bytes in two little-endian
    /// words (clamped here), h = 0. The AEAD keys it straight from keystream
    /// words, so the one-time key never passes through linear memory.
    #[inline(always)]
    pub(crate) fn from_r(lo: u64, hi: u64) -> Acc {
        let r = [
            lo & 0x0fff_ffff,
            (lo >> 32) & 0x0fff_fffc,
            hi & 0x0fff_fffc,
            (hi >> 32) & 0x0fff_fffc,
        ];
        Acc {
            r,
            s: [r[1] + (r[1] >> 2), r[2] + (r[2] >> 2), r[3] + (r[3] >> 2)],
            h: [0; 5],
        }
    }

    /// Absorbs the 16-byte block at `p` with the 2^128 bit set (a full block).
    ///
    /// # Safety
    /// `p` must be valid for reading 16 bytes (any alignment).
    #[inline(always)]
    pub(crate) unsafe fn block_at(&mut self, p: *const u8) {
        let lo = u64::from_le((p as *const u64).read_unaligned());
        let hi = u64::from_le((p.add(8) as *const u64).read_unaligned());
        self.absorb(lo, hi, 1);
    }

    /// Absorbs one block given as two little-endian halves; `padbit` is 1
    /// for full blocks (the appended 2^128 bit).
    ///
    /// Carries are lazy: the message is added to h without propagating, and
    /// the 2^130 fold is added to h0 alone, so h0 may reach about 2^33.7 and
    /// h1..h3 (as multiplier inputs) 2^33. With r_i < 2^28 and s_i < 1.25·2^28
    /// every column sum stays below 5.75·2^61 < 2^64.
    #[inline(always)]
    fn absorb(&mut self, lo: u64, hi: u64, padbit: u64) {
        let [r0, r1, r2, r3] = self.r;
        let [s1, s2, s3] = self.s;
        let [h0, h1, h2, h3, h4] = self.h;
        let a0 = h0 + (lo & 0xffff_ffff);
        let a1 = h1 + (lo >> 32);
        let a2 = h2 + (hi & 0xffff_ffff);
        let a3 = h3 + (hi >> 32);
        let a4 = h4 + padbit;

        // h *= r, partly reduced.
        let d0 = a0 * r0 + a1 * s3 + a2 * s2 + a3 * s1;
        let d1 = a0 * r1 + a1 * r0 + a2 * s3 + a3 * s2 + a4 * s1;
        let d2 = a0 * r2 + a1 * r1 + a2 * r0 + a3 * s3 + a4 * s2;
        let d3 = a0 * r3 + a1 * r2 + a2 * r1 + a3 * r0 + a4 * s3;
        let d4 = a4 * r0;

        let d1 = d1 + (d0 >> 32);
        let d2 = d2 + (d1 >> 32);
        let d3 = d3 + (d2 >> 32);
        let d4 = d4 + (d3 >> 32);
        // Fold the bits at 2^130 and above back in, times 5, into h0 only.
        self.h = [
            (d0 & 0xffff_ffff) + (d4 >> 2) * 5,
            d1 & 0xffff_ffff,
            d2 & 0xffff_ffff,
            d3 & 0xffff_ffff,
            d4 & 3,
        ];
    }

    /// Absorbs RFC 8439 §2.8's final block: the two lengths, little-endian.
    #[inline(always)]
    pub(crate) fn lengths(&mut self, aad_len: usize, text_len: usize) {
        self.absorb(aad_len as u64, text_len as u64, 1);
    }

    /// The tag: h fully reduced mod 2^130 - 5, plus the key's s (its last 16
    /// bytes, as two little-endian words), mod 2^128. Constant time.
    #[inline(always)]
    pub(crate) fn tag(&self, s_lo: u64, s_hi: u64) -> [u8; 16] {
        // Propagate the lazy carry of h0, fold what reaches 2^130, propagate again.
        let [mut h0, mut h1, mut h2, mut h3, mut h4] = self.h;
        for _ in 0..2 {
            h1 += h0 >> 32;
            h0 &= 0xffff_ffff;
            h2 += h1 >> 32;
            h1 &= 0xffff_ffff;
            h3 += h2 >> 32;
            h2 &= 0xffff_ffff;
            h4 += h3 >> 32;
            h3 &= 0xffff_ffff;
            h0 += (h4 >> 2) * 5;
            h4 &= 3;
        }
        h1 += h0 >> 32;
        h0 &= 0xffff_ffff;
        h2 += h1 >> 32;
        h1 &= 0xffff_ffff;
        h3 += h2 >> 32;
        h2 &= 0xffff_ffff;
        h4 += h3 >> 32;
        h3 &= 0xffff_ffff;
        let [h0, h1, h2, h3, h4] = [h0, h1, h2, h3, h4].map(|x| x as u32);
        // h < 2^131 now; g = h + 5; when it reaches 2^130, h >= p and h - p = g - 2^130.
        let mut t = h0 as u64 + 5;
        let g0 = t as u32;
        t = h1 as u64 + (t >> 32);
        let g1 = t as u32;
        t = h2 as u64 + (t >> 32);
        let g2 = t as u32;
        t = h3 as u64 + (t >> 32);
        let g3 = t as u32;
        let g4 = h4 + (t >> 32) as u32;
        let use_g = 0u32.wrapping_sub(g4 >> 2); // all ones when g >= 2^130
        let pick = |h: u32, g: u32| (h & !use_g) | (g & use_g);
        let v = (pick(h0, g0) as u128)
            | (pick(h1, g1) as u128) << 32
            | (pick(h2, g2) as u128) << 64
            | (pick(h3, g3) as u128) << 96;
        v.wrapping_add(s_lo as u128 | (s_hi as u128) << 64)
            .to_le_bytes()
    }

    /// Absorbs whole 16-byte blocks (`data.len()` a multiple of 16).
    fn blocks(&mut self, data: &[u8]) {
        debug_assert!(data.len() % 16 == 0);
        let n = data.len() / 16;
        let p = data.as_ptr();
        for i in 0..n {
            // In bounds: i < data.len() / 16.
            unsafe { self.block_at(p.add(16 * i)) };
        }
    }

    /// One volatile store per array: a volatile loop over the chained
    /// arrays stayed a loop, with its iterator's state in linear memory.
    fn wipe(&mut self) {
        unsafe {
            core::ptr::write_volatile(&mut self.r, [0; 4]);
            core::ptr::write_volatile(&mut self.s, [0; 3]);
            core::ptr::write_volatile(&mut self.h, [0; 5]);
        }
        core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
    }
}

pub struct Poly1305 {
    acc: Acc,
    pad: [u8; 16],
    buf: [u8; 16],
    buf_len: usize,
}

fn le64(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    u64::from_le_bytes(w)
}

impl Poly1305 {
    /// Starts a MAC under a one-time key (r ‖ s). `r` is clamped here.
    pub fn new(key: &[u8; 32]) -> Self {
        let mut pad = [0u8; 16];
        pad.copy_from_slice(&key[16..]);
        Poly1305 {
            acc: Acc::new(key),
            pad,
            buf: [0; 16],
            buf_len: 0,
        }
    }

    pub fn update(&mut self, mut data: &[u8]) {
        if self.buf_len > 0 {
            let take = (16 - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
            if self.buf_len < 16 {
                return;
            }
            let block = self.buf;
            self.acc.blocks(&block);
            self.buf_len = 0;
        }
        let whole = data.len() & !15;
        self.acc.blocks(&data[..whole]);
        let rest = &data[whole..];
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buf_len = rest.len();
    }

    pub fn finalize(mut self) -> [u8; 16] {
        self.tag()
    }

    fn tag(&mut self) -> [u8; 16] {
        if self.buf_len > 0 {
            // The final partial block: a 1 byte after the message, then zeros, no 2^128 bit.
            let mut block = [0u8; 16];
            block[..self.buf_len].copy_from_slice(&self.buf[..self.buf_len]);
            block[self.buf_len] = 1;
            let lo = u64::from_le_bytes(block[..8].try_into().unwrap());
            let hi = u64::from_le_bytes(block[8..].try_into().unwrap());
            self.acc.absorb(lo, hi, 0);
            self.buf_len = 0;
            wipe(&mut block);
        }
        let pad = u128::from_le_bytes(self.pad);
        self.acc.tag(pad as u64, (pad >> 64) as u64)
    }
}

impl Drop for Poly1305 {
    fn drop(&mut self) {
        self.acc.wipe();
        wipe_16(&mut self.pad);
        wipe_16(&mut self.buf);
    }
}

/// Zeroes a 16-byte array with one volatile store of the whole array: a
/// byte-by-byte wipe of these fields measured 5% of sealing a 1420-byte packet.
pub(crate) fn wipe_16(a: &mut [u8; 16]) {
    unsafe { core::ptr::write_volatile(a, [0; 16]) };
    core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
}

/// One-shot Poly1305 of `msg` under `key`.
pub fn mac(key: &[u8; 32], msg: &[u8]) -> [u8; 16] {
    let mut p = Poly1305::new(key);
    p.update(msg);
    p.tag()
}

/// Poly1305 the plain way, for the tests: h and r as numbers in 64-bit words,
/// schoolbook multiplication, and a full reduction mod 2^130 - 5 after every
/// block. Nothing is shared with the code above.
#[cfg(test)]
pub(crate) mod reference {
    /// Little-endian 64-bit words.
    type Num = [u64; 5];

    fn add(a: Num, b: Num) -> Num {
        let mut out = [0u64; 5];
        let mut carry = 0u128;
        for i in 0..5 {
            let t = a[i] as u128 + b[i] as u128 + carry;
            out[i] = t as u64;
            carry = t >> 64;
        }
        assert_eq!(carry, 0);
        out
    }

    fn mul(a: Num, b: Num) -> Num {
        let mut out = [0u64; 5];
        for i in 0..5 {
            let mut carry = 0u128;
            for j in 0..5 - i {
                let t = a[i] as u128 * b[j] as u128 + out[i + j] as u128 + carry;
                out[i + j] = t as u64;
                carry = t >> 64;
            }
        }
        out
    }

    /// x mod 2^130 - 5, for x < 2^320.
    fn reduce(mut x: Num) -> Num {
        loop {
            // x = lo + 2^130 · hi ≡ lo + 5 · hi.
            let hi = [
                x[2] >> 2 | x[3] << 62,
                x[3] >> 2 | x[4] << 62,
                x[4] >> 2,
                0,
                0,
            ];
            if hi == [0; 5] {
                break;
            }
            let lo = [x[0], x[1], x[2] & 3, 0, 0];
            x = add(lo, mul(hi, [5, 0, 0, 0, 0]));
        }
        let p: Num = [!4, !0, 3, 0, 0];
        let ge = (x[2], x[1], x[0]) >= (p[2], p[1], p[0]);
        if ge {
            // x - p = x + 5 - 2^130.
            x = add(x, [5, 0, 0, 0, 0]);
            x[2] &= 3;
        }
        x
    }

    fn le(bytes: &[u8]) -> Num {
        let mut out = [0u64; 5];
        for (i, b) in bytes.iter().enumerate() {
            out[i / 8] |= (*b as u64) << (8 * (i % 8));
        }
        out
    }

    pub(crate) fn mac(key: &[u8; 32], msg: &[u8]) -> [u8; 16] {
        let mut r = le(&key[..16]);
        r[0] &= 0x0fff_fffc_0fff_ffff;
        r[1] &= 0x0fff_fffc_0fff_fffc;
        let mut h = [0u64; 5];
        for chunk in msg.chunks(16) {
            let mut block = chunk.to_vec();
            block.push(1);
            h = reduce(mul(add(h, le(&block)), r));
        }
        let s = le(&key[16..]);
        let t = add(h, s);
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&t[0].to_le_bytes());
        out[8..].copy_from_slice(&t[1].to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blake2s::hex;
    use crate::test_rand::Rand;

    fn key(s: &str) -> [u8; 32] {
        hex(s).try_into().unwrap()
    }

    #[test]
    fn rfc8439_2_5_2() {
        let k = key("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
        let tag = mac(&k, b"Cryptographic Forum Research Group");
        assert_eq!(tag.to_vec(), hex("a8061dc1305136c6c22b8baf0c0127a9"));
    }

    /// RFC 8439 Appendix A.3 vectors that exercise the final reduction.
    #[test]
    fn rfc8439_appendix_a3_edge_cases() {
        let two = key("0200000000000000000000000000000000000000000000000000000000000000");
        let one = key("0100000000000000000000000000000000000000000000000000000000000000");
        // #6: h = 2 * (2^128 - 1 + 2^128) wraps to 3.
        let t = mac(&two, &hex("ffffffffffffffffffffffffffffffff"));
        assert_eq!(t.to_vec(), hex("03000000000000000000000000000000"));
        // #7
        let t = mac(
            &one,
            &hex("ffffffffffffffffffffffffffffffff f0ffffffffffffffffffffffffffffff 11000000000000000000000000000000"),
        );
        assert_eq!(t.to_vec(), hex("05000000000000000000000000000000"));
        // #8
        let t = mac(
            &one,
            &hex("ffffffffffffffffffffffffffffffff fbfefefefefefefefefefefefefefefe 01010101010101010101010101010101"),
        );
        assert_eq!(t.to_vec(), hex("00000000000000000000000000000000"));
        // #9
        let t = mac(&two, &hex("fdffffffffffffffffffffffffffffff"));
        assert_eq!(t.to_vec(), hex("faffffffffffffffffffffffffffffff"));
        // #5: s wraps.
        let k = key("02000000000000000000000000000000ffffffffffffffffffffffffffffffff");
        let t = mac(&k, &hex("02000000000000000000000000000000"));
        assert_eq!(t.to_vec(), hex("03000000000000000000000000000000"));
    }

    #[test]
    fn split_updates_match_one_shot() {
        let k = key("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
        let msg: Vec<u8> = (0..200u32).map(|i| (i * 31 + 7) as u8).collect();
        for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 200] {
            let whole = mac(&k, &msg[..len]);
            for split in 0..=len {
                let mut p = Poly1305::new(&k);
                p.update(&msg[..split]);
                p.update(&msg[split..len]);
                assert_eq!(p.finalize(), whole);
            }
        }
    }

    #[test]
    fn rfc8439_2_5_2_by_the_reference() {
        let k = key("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
        let tag = reference::mac(&k, b"Cryptographic Forum Research Group");
        assert_eq!(tag.to_vec(), hex("a8061dc1305136c6c22b8baf0c0127a9"));
    }

    /// Every length to 600 with random keys, cut into random pieces, and the
    /// largest values the lazy carries meet: r at its clamped maximum under
    /// runs of all-ones blocks, long enough for h to settle near its bound.
    #[test]
    fn random_and_extreme_inputs_in_random_pieces_match_the_reference() {
        let mut rng = Rand(0x9017_1305);
        let mut max_r = [0xffu8; 32];
        max_r[16..].copy_from_slice(&rng.bytes(16));
        for len in 0..=600usize {
            let (k, msg): ([u8; 32], Vec<u8>) = match len % 3 {
                0 => (max_r, vec![0xff; len]),
                _ => (rng.bytes(32).try_into().unwrap(), rng.bytes(len)),
            };
            let expected = reference::mac(&k, &msg);
            assert_eq!(mac(&k, &msg), expected, "length {len}");
            let mut p = Poly1305::new(&k);
            let mut rest = &msg[..];
            while !rest.is_empty() {
                let take = (rng.next() as usize % 40).min(rest.len());
                p.update(&rest[..take]);
                rest = &rest[take..];
            }
            assert_eq!(p.finalize(), expected, "length {len} in pieces");
        }
        let long = vec![0xffu8; 1 << 16];
        assert_eq!(mac(&max_r, &long), reference::mac(&max_r, &long));
    }
}
