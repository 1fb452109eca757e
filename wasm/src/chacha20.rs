//! ChaCha20 (RFC 8439 §2.3–2.4) and HChaCha20 (draft-irtf-cfrg-xchacha §2.2).
//!
//! The keystream is made four blocks at a time, "vertically": word k of the
//! four blocks shares one [`Row`], so a quarter round works on four blocks
//! with no shuffles, and one transpose at the end puts the bytes in order.
//! On wasm32 a `Row` is a SIMD128 vector; elsewhere it is four words, so the
//! native unit tests run the very code wasm32 runs. [`block`] and
//! [`hchacha20`] use the plain one-block code, also the tests' reference.
//!
//! A [`Stream`] holds the state as rows, in registers, for a whole message;
//! [`Stream::keystream4`] takes work to [`Interleave`] with its rounds: the
//! AEAD feeds Poly1305 from there (aead.rs), so the MAC's scalar multiplies
//! run while the vector units work on the keystream.
//!
//! Measured under V8 (wasm32, x86-64): eight blocks as two interleaved
//! four-block sets spill more and made the keystream alone only 2% faster
//! (and leave no room for Poly1305). The byte-aligned rotates (16 and 8 bits)
//! are each one `i8x16.swizzle` by a constant: V8 makes each mask once,
//! outside the rounds, and emits one `pshufb` a rotate. Sealing measured
//! about 3% faster so for the 8-bit rotate than its shift, shift, or, and
//! about 2% more for the 16-bit one than its two 16-bit lane shuffles
//! (`pshuflw`, `pshufhw`); the shifts for the 16-bit rotate were 5% slower
//! still. As an `i8x16.shuffle` instead, V8 builds the mask anew at every use.

use crate::ct::wipe_u32;

const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// Bytes of keystream one [`Stream::keystream4`] step makes: four 64-byte blocks.
pub(crate) const STEP: usize = 256;

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
fn initial_state(key: &[u8; 32], counter: u32, nonce: &[u8; 12]) -> [u32; 16] {
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

/// One 64-byte keystream block, by the plain one-block code.
pub fn block(key: &[u8; 32], counter: u32, nonce: &[u8; 12]) -> [u8; 64] {
    let mut init = initial_state(key, counter, nonce);
    let mut s = init;
    double_rounds(&mut s);
    let mut out = [0u8; 64];
    for i in 0..16 {
        out[4 * i..4 * i + 4].copy_from_slice(&s[i].wrapping_add(init[i]).to_le_bytes());
    }
    wipe_u32(&mut s);
    wipe_u32(&mut init);
    out
}

/// XORs `data` with the keystream that starts at block `counter`.
/// (Never inlined: it serves the DRBG and a failed open, not the data path.)
#[inline(never)]
pub fn xor_in_place(key: &[u8; 32], counter: u32, nonce: &[u8; 12], data: &mut [u8]) {
    let mut stream = Stream::new(key, counter, nonce);
    for chunk in data.chunks_mut(STEP) {
        let ks = stream.keystream4(&mut ());
        // In bounds: the chunk holds chunk.len() bytes.
        unsafe { xor_rows(&ks, chunk.as_mut_ptr(), chunk.len()) };
        stream.advance();
    }
}

/// Work to run between the rounds of a keystream step.
pub(crate) trait Interleave {
    /// Runs after each half of every double round: twenty times a step.
    fn between(&mut self);
}

/// No work: a plain keystream step.
impl Interleave for () {
    #[inline(always)]
    fn between(&mut self) {}
}

/// A ChaCha20 state as rows (word k of four consecutive blocks in row k),
/// kept in registers: made once per message, advanced four blocks a step.
#[derive(Clone, Copy)]
pub(crate) struct Stream {
    rows: [Row; 16],
}

impl Stream {
    /// The state for blocks `counter..` of `key` and `nonce`.
    ///
    /// Each row is made straight from `key` and `nonce`: no copy of the key
    /// is left in linear memory, and none is wiped (Debian's rustc 1.63, LLVM
    /// 14, moved splat loads of such a copy after its volatile wipe on wasm32,
    /// which zeroed the nonce).
    #[inline(always)]
    pub(crate) fn new(key: &[u8; 32], counter: u32, nonce: &[u8; 12]) -> Stream {
        let k = |i: usize| Row::splat(le32(&key[4 * i..]));
        let n = |i: usize| Row::splat(le32(&nonce[4 * i..]));
        let c = |i: usize| Row::splat(SIGMA[i]);
        Stream {
            rows: [
                c(0),
                c(1),
                c(2),
                c(3),
                k(0),
                k(1),
                k(2),
                k(3),
                k(4),
                k(5),
                k(6),
                k(7),
                Row::counters(counter),
                n(0),
                n(1),
                n(2),
            ],
        }
    }

    /// Moves on by one step (four blocks).
    #[inline(always)]
    pub(crate) fn advance(&mut self) {
        self.rows[12] = self.rows[12].add(Row::splat(4));
    }

    /// [`STEP`] bytes of keystream for this step's four blocks, as 16 rows in
    /// output order (block 0 bytes 0..16, 16..32, …). `work.between()` runs
    /// twenty times, between the half rounds.
    ///
    /// The rows are values, not memory: index them only with constants (as
    /// [`xor_rows`] does) and they stay in registers and never reach linear memory.
    #[inline(always)]
    pub(crate) fn keystream4(&self, work: &mut impl Interleave) -> [Row; 16] {
        let mut x = self.rows;
        for _ in 0..10 {
            row_quarter(&mut x, 0, 4, 8, 12);
            row_quarter(&mut x, 1, 5, 9, 13);
            row_quarter(&mut x, 2, 6, 10, 14);
            row_quarter(&mut x, 3, 7, 11, 15);
            work.between();
            row_quarter(&mut x, 0, 5, 10, 15);
            row_quarter(&mut x, 1, 6, 11, 12);
            row_quarter(&mut x, 2, 7, 8, 13);
            row_quarter(&mut x, 3, 4, 9, 14);
            work.between();
        }
        for (v, input) in x.iter_mut().zip(self.rows.iter()) {
            *v = v.add(*input);
        }
        let mut out = [Row::splat(0); 16];
        for group in 0..4 {
            let k = 4 * group;
            let t = Row::transpose(x[k], x[k + 1], x[k + 2], x[k + 3]);
            for (block, v) in t.iter().enumerate() {
                out[4 * block + group] = *v;
            }
        }
        out
    }
}

#[inline(always)]
fn row_quarter(x: &mut [Row; 16], a: usize, b: usize, c: usize, d: usize) {
    x[a] = x[a].add(x[b]);
    x[d] = x[d].xor(x[a]).rotl16();
    x[c] = x[c].add(x[d]);
    x[b] = x[b].xor(x[c]).rotl::<12>();
    x[a] = x[a].add(x[b]);
    x[d] = x[d].xor(x[a]).rotl8();
    x[c] = x[c].add(x[d]);
    x[b] = x[b].xor(x[c]).rotl::<7>();
}

/// Runs `$f!(i)` for the sixteen rows of a step, with literal indices.
macro_rules! for_rows {
    ($f:ident) => {
        $f!(0);
        $f!(1);
        $f!(2);
        $f!(3);
        $f!(4);
        $f!(5);
        $f!(6);
        $f!(7);
        $f!(8);
        $f!(9);
        $f!(10);
        $f!(11);
        $f!(12);
        $f!(13);
        $f!(14);
        $f!(15);
    };
}

/// XORs the first `len` bytes of keystream step `ks` into `p` (all of it
/// when `len >= STEP`).
///
/// # Safety
/// `p` must be valid for reading and writing `min(len, STEP)` bytes.
#[inline(always)]
pub(crate) unsafe fn xor_rows(ks: &[Row; 16], p: *mut u8, len: usize) {
    if len >= STEP {
        xor_step(ks, p);
    } else {
        xor_rows_from(ks, 0, p, len);
    }
}

/// XORs all of keystream step `ks` into `p`.
///
/// # Safety
/// `p` must be valid for reading and writing [`STEP`] bytes.
#[inline(always)]
unsafe fn xor_step(ks: &[Row; 16], p: *mut u8) {
    macro_rules! whole {
        ($i:expr) => {
            ks[$i].xor_into(p.add(16 * $i))
        };
    }
    for_rows!(whole);
}

/// XORs rows `first..16` of `ks` into the `len` bytes at `p`, row `first`
/// at `p` and so on; rows past `len` are left out, the last one cut short.
///
/// # Safety
/// `p` must be valid for reading and writing `min(len, 16 * (16 - first))` bytes.
#[inline(always)]
pub(crate) unsafe fn xor_rows_from(ks: &[Row; 16], first: usize, p: *mut u8, len: usize) {
    let whole = len / 16;
    // The row cut short, picked by comparisons rather than by index.
    let mut cut = None;
    macro_rules! some {
        ($i:expr) => {
            if $i >= first {
                let r = $i - first;
                if r < whole {
                    ks[$i].xor_into(p.add(16 * r));
                } else if r == whole {
                    cut = Some(ks[$i]);
                }
            }
        };
    }
    for_rows!(some);
    if let Some(row) = cut {
        row.xor_into_partial(p.add(16 * whole), len % 16);
    }
}

pub(crate) use row::Row;

/// Four 32-bit lanes as one SIMD128 vector.
#[cfg(target_arch = "wasm32")]
mod row {
    use core::arch::wasm32::*;

    #[derive(Clone, Copy)]
    pub(crate) struct Row(v128);

    impl Row {
        #[inline(always)]
        pub fn splat(x: u32) -> Row {
            Row(u32x4_splat(x))
        }

        /// `c, c + 1, c + 2, c + 3` (wrapping): the block counters of a step.
        #[inline(always)]
        pub fn counters(c: u32) -> Row {
            Row(u32x4_add(u32x4_splat(c), u32x4(0, 1, 2, 3)))
        }

        #[inline(always)]
        pub fn add(self, o: Row) -> Row {
            Row(u32x4_add(self.0, o.0))
        }

        #[inline(always)]
        pub fn xor(self, o: Row) -> Row {
            Row(v128_xor(self.0, o.0))
        }

        /// The 16-bit rotate as a byte swizzle by a constant (see `rotl8`).
        #[inline(always)]
        pub fn rotl16(self) -> Row {
            Row(u8x16_swizzle(
                self.0,
                u8x16(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13),
            ))
        }

        #[inline(always)]
        pub fn rotl<const L: u32>(self) -> Row {
            Row(v128_or(u32x4_shl(self.0, L), u32x4_shr(self.0, 32 - L)))
        }

        /// The 8-bit rotate as a byte swizzle by a constant: one `pshufb` in V8
        /// (indices all below 16, so no fix-up), its mask made once.
        #[inline(always)]
        pub fn rotl8(self) -> Row {
            Row(u8x16_swizzle(
                self.0,
                u8x16(3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14),
            ))
        }

        /// `out[j] = (a[j], b[j], c[j], d[j])`.
        #[inline(always)]
        pub fn transpose(a: Row, b: Row, c: Row, d: Row) -> [Row; 4] {
            let t0 = i32x4_shuffle::<0, 4, 1, 5>(a.0, b.0);
            let t1 = i32x4_shuffle::<2, 6, 3, 7>(a.0, b.0);
            let t2 = i32x4_shuffle::<0, 4, 1, 5>(c.0, d.0);
            let t3 = i32x4_shuffle::<2, 6, 3, 7>(c.0, d.0);
            [
                Row(i64x2_shuffle::<0, 2>(t0, t2)),
                Row(i64x2_shuffle::<1, 3>(t0, t2)),
                Row(i64x2_shuffle::<0, 2>(t1, t3)),
                Row(i64x2_shuffle::<1, 3>(t1, t3)),
            ]
        }

        /// The 16 bytes, little-endian, as two 64-bit halves.
        #[inline(always)]
        pub fn halves(self) -> [u64; 2] {
            [
                u64x2_extract_lane::<0>(self.0),
                u64x2_extract_lane::<1>(self.0),
            ]
        }

        /// `p[0..16] ^= self`.
        ///
        /// # Safety
        /// `p` must be valid for reading and writing 16 bytes (any alignment).
        #[inline(always)]
        pub unsafe fn xor_into(self, p: *mut u8) {
            let p = p as *mut v128;
            v128_store(p, v128_xor(v128_load(p), self.0));
        }

        /// `p[0..len] ^= self[0..len]` for `len < 16`.
        ///
        /// # Safety
        /// `p` must be valid for reading and writing `len` bytes.
        #[inline(always)]
        pub unsafe fn xor_into_partial(self, p: *mut u8, len: usize) {
            super::xor_partial(self.halves(), p, len);
        }
    }
}

/// Four 32-bit lanes as four words: the same operations, portably.
#[cfg(not(target_arch = "wasm32"))]
mod row {
    #[derive(Clone, Copy)]
    pub(crate) struct Row([u32; 4]);

    impl Row {
        #[inline(always)]
        pub fn splat(x: u32) -> Row {
            Row([x; 4])
        }

        #[inline(always)]
        pub fn counters(c: u32) -> Row {
            Row([0, 1, 2, 3].map(|i| c.wrapping_add(i)))
        }

        #[inline(always)]
        pub fn add(self, o: Row) -> Row {
            Row([0, 1, 2, 3].map(|i| self.0[i].wrapping_add(o.0[i])))
        }

        #[inline(always)]
        pub fn xor(self, o: Row) -> Row {
            Row([0, 1, 2, 3].map(|i| self.0[i] ^ o.0[i]))
        }

        #[inline(always)]
        pub fn rotl16(self) -> Row {
            self.rotl::<16>()
        }

        #[inline(always)]
        pub fn rotl<const L: u32>(self) -> Row {
            Row(self.0.map(|w| w.rotate_left(L)))
        }

        #[inline(always)]
        pub fn rotl8(self) -> Row {
            self.rotl::<8>()
        }

        #[inline(always)]
        pub fn transpose(a: Row, b: Row, c: Row, d: Row) -> [Row; 4] {
            [0, 1, 2, 3].map(|j| Row([a.0[j], b.0[j], c.0[j], d.0[j]]))
        }

        #[inline(always)]
        pub fn halves(self) -> [u64; 2] {
            let [w0, w1, w2, w3] = self.0.map(|w| w as u64);
            [w0 | w1 << 32, w2 | w3 << 32]
        }

        #[inline(always)]
        pub unsafe fn xor_into(self, p: *mut u8) {
            let [lo, hi] = self.halves();
            for (i, k) in [lo, hi].iter().enumerate() {
                let q = p.add(8 * i) as *mut [u8; 8];
                q.write_unaligned((u64::from_le_bytes(q.read_unaligned()) ^ k).to_le_bytes());
            }
        }

        #[inline(always)]
        pub unsafe fn xor_into_partial(self, p: *mut u8, len: usize) {
            super::xor_partial(self.halves(), p, len);
        }
    }
}

/// `p[0..len] ^= the first len bytes of lo ‖ hi` (little-endian), `len < 16`.
/// (Not inlined: at most once a message, and LLVM vectorizes this loop into
/// far more code than it is worth.)
#[inline(never)]
unsafe fn xor_partial([lo, hi]: [u64; 2], p: *mut u8, len: usize) {
    debug_assert!(len < 16);
    for i in 0..len {
        let k = if i < 8 {
            lo >> (8 * i)
        } else {
            hi >> (8 * (i - 8))
        };
        *p.add(i) ^= k as u8;
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
    use crate::test_rand::Rand;

    fn key_0_to_31() -> [u8; 32] {
        let mut k = [0u8; 32];
        for (i, b) in k.iter_mut().enumerate() {
            *b = i as u8;
        }
        k
    }

    /// The keystream by the plain one-block code, block after block.
    fn reference_xor(key: &[u8; 32], counter: u32, nonce: &[u8; 12], data: &mut [u8]) {
        for (i, chunk) in data.chunks_mut(64).enumerate() {
            let ks = block(key, counter.wrapping_add(i as u32), nonce);
            for (d, k) in chunk.iter_mut().zip(ks.iter()) {
                *d ^= k;
            }
        }
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
        let expected = hex(
            "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e\
             d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e",
        );
        assert_eq!(block(&key_0_to_31(), 1, &nonce).to_vec(), expected);
        let mut four = vec![0u8; 64];
        xor_in_place(&key_0_to_31(), 1, &nonce, &mut four);
        assert_eq!(four, expected);
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

    /// Every length to 1100 (each step's every row cut at every byte), at
    /// every offset within a 16-byte row, against the one-block code.
    #[test]
    fn four_block_steps_match_the_one_block_code_at_every_length_and_offset() {
        let mut rng = Rand(0x5eed_c4a2);
        let key: [u8; 32] = rng.bytes(32).try_into().unwrap();
        let nonce: [u8; 12] = rng.bytes(12).try_into().unwrap();
        let data = rng.bytes(1100 + 16);
        for len in 0..=1100 {
            let offset = len % 16;
            let counter = rng.next() as u32;
            let mut fast = data.clone();
            let mut slow = data.clone();
            xor_in_place(&key, counter, &nonce, &mut fast[offset..offset + len]);
            reference_xor(&key, counter, &nonce, &mut slow[offset..offset + len]);
            assert!(fast == slow, "length {len}, counter {counter}");
        }
    }

    #[test]
    fn the_block_counter_wraps_within_a_step_as_block_by_block() {
        let key = key_0_to_31();
        let nonce = [3u8; 12];
        for counter in [u32::MAX - 5, u32::MAX - 3, u32::MAX - 1, u32::MAX] {
            let mut fast = vec![0x11u8; 700];
            let mut slow = fast.clone();
            xor_in_place(&key, counter, &nonce, &mut fast);
            reference_xor(&key, counter, &nonce, &mut slow);
            assert!(fast == slow, "counter {counter}");
        }
    }
}
