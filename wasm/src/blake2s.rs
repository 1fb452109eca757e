//! BLAKE2s (RFC 7693): keyed or unkeyed, any output length 1..=32 bytes.

use crate::ct::{wipe, wipe_u32};

const IV: [u32; 8] = [
    0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
];

/// Message word schedule of each of the ten rounds (RFC 7693 §2.7).
const SIGMA: [[usize; 16]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

const BLOCK: usize = 64;

/// An incremental BLAKE2s computation. Its state is wiped when dropped.
pub struct Blake2s {
    h: [u32; 8],
    /// Bytes compressed so far (the counter t of RFC 7693).
    t: u64,
    buf: [u8; BLOCK],
    buf_len: usize,
    out_len: usize,
}

#[inline(always)]
fn g(v: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize, x: u32, y: u32) {
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(x);
    v[d] = (v[d] ^ v[a]).rotate_right(16);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(12);
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(y);
    v[d] = (v[d] ^ v[a]).rotate_right(8);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(7);
}

fn compress(h: &mut [u32; 8], block: &[u8; BLOCK], t: u64, last: bool) {
    let mut m = [0u32; 16];
    for (i, w) in m.iter_mut().enumerate() {
        *w = u32::from_le_bytes([
            block[4 * i],
            block[4 * i + 1],
            block[4 * i + 2],
            block[4 * i + 3],
        ]);
    }
    let mut v = [0u32; 16];
    v[..8].copy_from_slice(h);
    v[8..].copy_from_slice(&IV);
    v[12] ^= t as u32;
    v[13] ^= (t >> 32) as u32;
    if last {
        v[14] = !v[14];
    }
    for s in SIGMA.iter() {
        g(&mut v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
        g(&mut v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
        g(&mut v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
        g(&mut v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
        g(&mut v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
        g(&mut v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
        g(&mut v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
        g(&mut v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for i in 0..8 {
        h[i] ^= v[i] ^ v[i + 8];
    }
    wipe_u32(&mut m);
    wipe_u32(&mut v);
}

impl Blake2s {
    /// Unkeyed BLAKE2s with an `out_len`-byte digest (1..=32).
    pub fn new(out_len: usize) -> Self {
        Self::new_keyed(out_len, &[])
    }

    /// Keyed BLAKE2s (a MAC) with an `out_len`-byte digest (1..=32) and a key of 0..=32 bytes.
    /// Panics on lengths outside those ranges; the ABI checks them first.
    pub fn new_keyed(out_len: usize, key: &[u8]) -> Self {
        assert!(
            (1..=32).contains(&out_len) && key.len() <= 32,
            "blake2s: bad length"
        );
        let mut h = IV;
        h[0] ^= 0x0101_0000 ^ ((key.len() as u32) << 8) ^ out_len as u32;
        let mut s = Blake2s {
            h,
            t: 0,
            buf: [0; BLOCK],
            buf_len: 0,
            out_len,
        };
        if !key.is_empty() {
            s.buf[..key.len()].copy_from_slice(key);
            s.buf_len = BLOCK;
        }
        s
    }

    /// Absorbs `data`. The last block is kept back until `finalize`, which flags it.
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.buf_len == BLOCK {
                self.t = self.t.wrapping_add(BLOCK as u64);
                compress(&mut self.h, &self.buf, self.t, false);
                self.buf_len = 0;
            }
            // Whole blocks straight from the input, keeping at least one byte back.
            while self.buf_len == 0 && data.len() > BLOCK {
                self.t = self.t.wrapping_add(BLOCK as u64);
                let block: &[u8; BLOCK] = data[..BLOCK].try_into().unwrap();
                compress(&mut self.h, block, self.t, false);
                data = &data[BLOCK..];
            }
            let take = (BLOCK - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
        }
    }

    /// Writes the digest into `out[..out_len]` (`out` must be at least that long).
    pub fn finalize(mut self, out: &mut [u8]) {
        self.t = self.t.wrapping_add(self.buf_len as u64);
        for b in self.buf[self.buf_len..].iter_mut() {
            *b = 0;
        }
        let buf = self.buf;
        compress(&mut self.h, &buf, self.t, true);
        let mut full = [0u8; 32];
        for (i, w) in self.h.iter().enumerate() {
            full[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        out[..self.out_len].copy_from_slice(&full[..self.out_len]);
        wipe(&mut full);
    }
}

impl Drop for Blake2s {
    fn drop(&mut self) {
        wipe_u32(&mut self.h);
        wipe(&mut self.buf);
    }
}

/// One-shot BLAKE2s of the concatenation of `parts`, digest length `out.len()`;
/// keyed when `key` is not empty.
pub fn hash(out: &mut [u8], key: &[u8], parts: &[&[u8]]) {
    let mut s = Blake2s::new_keyed(out.len(), key);
    for p in parts {
        s.update(p);
    }
    s.finalize(out);
}

#[cfg(test)]
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    s.chunks(2)
        .map(|p| u8::from_str_radix(core::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7693_appendix_b_abc() {
        let mut out = [0u8; 32];
        hash(&mut out, &[], &[b"abc"]);
        assert_eq!(
            out.to_vec(),
            hex("508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982")
        );
    }

    fn selftest_seq(len: usize, seed: u32) -> Vec<u8> {
        let mut a = 0xDEAD4BADu32.wrapping_mul(seed);
        let mut b = 1u32;
        (0..len)
            .map(|_| {
                let t = a.wrapping_add(b);
                a = b;
                b = t;
                (t >> 24) as u8
            })
            .collect()
    }

    /// RFC 7693 Appendix E: a hash over keyed and unkeyed digests of many lengths.
    #[test]
    fn rfc7693_appendix_e_grand_hash() {
        let mut ctx = Blake2s::new(32);
        for &out_len in &[16usize, 20, 28, 32] {
            for &in_len in &[0usize, 3, 64, 65, 255, 1024] {
                let msg = selftest_seq(in_len, in_len as u32);
                let mut md = [0u8; 32];
                hash(&mut md[..out_len], &[], &[&msg]);
                ctx.update(&md[..out_len]);
                let key = selftest_seq(out_len, out_len as u32);
                hash(&mut md[..out_len], &key, &[&msg]);
                ctx.update(&md[..out_len]);
            }
        }
        let mut out = [0u8; 32];
        ctx.finalize(&mut out);
        assert_eq!(
            out.to_vec(),
            hex("6a411f08ce25adcdfb02aba641451cec53c598b24f4fc787fbdc88797f4c1dfe")
        );
    }

    #[test]
    fn incremental_updates_match_one_shot_for_every_split() {
        let msg: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for &len in &[0usize, 1, 63, 64, 65, 127, 128, 129, 300] {
            let mut whole = [0u8; 32];
            hash(&mut whole, b"key", &[&msg[..len]]);
            for split in 0..=len {
                let mut s = Blake2s::new_keyed(32, b"key");
                s.update(&msg[..split]);
                s.update(&[]);
                s.update(&msg[split..len]);
                let mut out = [0u8; 32];
                s.finalize(&mut out);
                assert_eq!(out, whole, "len {} split {}", len, split);
            }
        }
    }

    #[test]
    fn short_outputs_are_not_truncations() {
        // The output length is part of the parameter block, so a 16-byte digest
        // differs from the first half of the 32-byte one.
        let mut a = [0u8; 16];
        let mut b = [0u8; 32];
        hash(&mut a, &[], &[b"abc"]);
        hash(&mut b, &[], &[b"abc"]);
        assert_ne!(a[..], b[..16]);
    }
}
