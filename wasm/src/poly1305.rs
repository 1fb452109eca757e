//! Poly1305 (RFC 8439 §2.5): the one-time authenticator, with five 26-bit limbs
//! so that every product is a native 64-bit multiply (on wasm32 as well).

use crate::ct::{wipe, wipe_u32};

const MASK26: u32 = 0x3ff_ffff;

pub struct Poly1305 {
    r: [u32; 5],
    /// 5 · r1..r4, for the reduction 2^130 ≡ 5.
    s: [u32; 4],
    h: [u32; 5],
    pad: [u8; 16],
    buf: [u8; 16],
    buf_len: usize,
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

impl Poly1305 {
    /// Starts a MAC under a one-time key (r ‖ s). `r` is clamped here.
    pub fn new(key: &[u8; 32]) -> Self {
        let mut rb = [0u8; 16];
        rb.copy_from_slice(&key[..16]);
        for i in [3usize, 7, 11, 15] {
            rb[i] &= 0x0f;
        }
        for i in [4usize, 8, 12] {
            rb[i] &= 0xfc;
        }
        let rv = u128::from_le_bytes(rb);
        let mut r = [0u32; 5];
        for (i, limb) in r.iter_mut().enumerate() {
            *limb = ((rv >> (26 * i)) as u32) & MASK26;
        }
        wipe(&mut rb);
        let mut pad = [0u8; 16];
        pad.copy_from_slice(&key[16..]);
        Poly1305 {
            r,
            s: [r[1] * 5, r[2] * 5, r[3] * 5, r[4] * 5],
            h: [0; 5],
            pad,
            buf: [0; 16],
            buf_len: 0,
        }
    }

    /// Absorbs 16-byte blocks; `hibit` is 1 << 24 for full blocks (the appended 1 bit).
    fn blocks(&mut self, data: &[u8], hibit: u32) {
        let [r0, r1, r2, r3, r4] = self.r.map(|x| x as u64);
        let [s1, s2, s3, s4] = self.s.map(|x| x as u64);
        let [mut h0, mut h1, mut h2, mut h3, mut h4] = self.h;
        for m in data.chunks_exact(16) {
            h0 += le32(&m[0..]) & MASK26;
            h1 += (le32(&m[3..]) >> 2) & MASK26;
            h2 += (le32(&m[6..]) >> 4) & MASK26;
            h3 += (le32(&m[9..]) >> 6) & MASK26;
            h4 += (le32(&m[12..]) >> 8) | hibit;

            let (a0, a1, a2, a3, a4) = (h0 as u64, h1 as u64, h2 as u64, h3 as u64, h4 as u64);
            let d0 = a0 * r0 + a1 * s4 + a2 * s3 + a3 * s2 + a4 * s1;
            let mut d1 = a0 * r1 + a1 * r0 + a2 * s4 + a3 * s3 + a4 * s2;
            let mut d2 = a0 * r2 + a1 * r1 + a2 * r0 + a3 * s4 + a4 * s3;
            let mut d3 = a0 * r3 + a1 * r2 + a2 * r1 + a3 * r0 + a4 * s4;
            let mut d4 = a0 * r4 + a1 * r3 + a2 * r2 + a3 * r1 + a4 * r0;

            d1 += d0 >> 26;
            h0 = d0 as u32 & MASK26;
            d2 += d1 >> 26;
            h1 = d1 as u32 & MASK26;
            d3 += d2 >> 26;
            h2 = d2 as u32 & MASK26;
            d4 += d3 >> 26;
            h3 = d3 as u32 & MASK26;
            let c = (d4 >> 26) as u32;
            h4 = d4 as u32 & MASK26;
            h0 += c * 5;
            h1 += h0 >> 26;
            h0 &= MASK26;
        }
        self.h = [h0, h1, h2, h3, h4];
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
            self.blocks(&block, 1 << 24);
            self.buf_len = 0;
        }
        let whole = data.len() & !15;
        self.blocks(&data[..whole], 1 << 24);
        let rest = &data[whole..];
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buf_len = rest.len();
    }

    /// Absorbs `data` and then zeros up to a multiple of 16 bytes (RFC 8439 §2.8's pad16).
    pub fn update_padded(&mut self, data: &[u8]) {
        self.update(data);
        if self.buf_len > 0 {
            for b in self.buf[self.buf_len..].iter_mut() {
                *b = 0;
            }
            let block = self.buf;
            self.blocks(&block, 1 << 24);
            self.buf_len = 0;
        }
    }

    pub fn finalize(mut self) -> [u8; 16] {
        if self.buf_len > 0 {
            // The final partial block: a 1 byte after the message, then zeros, no high bit.
            let mut block = [0u8; 16];
            block[..self.buf_len].copy_from_slice(&self.buf[..self.buf_len]);
            block[self.buf_len] = 1;
            self.blocks(&block, 0);
            wipe(&mut block);
        }
        let [mut h0, mut h1, mut h2, mut h3, mut h4] = self.h;
        // Full carry.
        h2 += h1 >> 26;
        h1 &= MASK26;
        h3 += h2 >> 26;
        h2 &= MASK26;
        h4 += h3 >> 26;
        h3 &= MASK26;
        h0 += (h4 >> 26) * 5;
        h4 &= MASK26;
        h1 += h0 >> 26;
        h0 &= MASK26;
        // g = h + 5 - 2^130; take it when it does not go negative (h >= p).
        let mut g0 = h0 + 5;
        let mut g1 = h1 + (g0 >> 26);
        g0 &= MASK26;
        let mut g2 = h2 + (g1 >> 26);
        g1 &= MASK26;
        let mut g3 = h3 + (g2 >> 26);
        g2 &= MASK26;
        let g4 = (h4 + (g3 >> 26)).wrapping_sub(1 << 26);
        g3 &= MASK26;
        let use_g = (g4 >> 31).wrapping_sub(1); // all ones when g4 >= 0
        let pick = |h: u32, g: u32| (h & !use_g) | (g & use_g);
        let v = [
            pick(h0, g0),
            pick(h1, g1),
            pick(h2, g2),
            pick(h3, g3),
            pick(h4, g4 & MASK26),
        ];
        let acc = (v[0] as u128)
            | (v[1] as u128) << 26
            | (v[2] as u128) << 52
            | (v[3] as u128) << 78
            | (v[4] as u128) << 104;
        acc.wrapping_add(u128::from_le_bytes(self.pad))
            .to_le_bytes()
    }
}

impl Drop for Poly1305 {
    fn drop(&mut self) {
        wipe_u32(&mut self.r);
        wipe_u32(&mut self.s);
        wipe_u32(&mut self.h);
        wipe(&mut self.pad);
        wipe(&mut self.buf);
    }
}

/// One-shot Poly1305 of `msg` under `key`.
pub fn mac(key: &[u8; 32], msg: &[u8]) -> [u8; 16] {
    let mut p = Poly1305::new(key);
    p.update(msg);
    p.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blake2s::hex;

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
}
