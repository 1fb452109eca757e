//! X25519 (RFC 7748) in constant time: a Montgomery ladder with masked
//! conditional swaps, and field arithmetic without secret-dependent branches
//! or indices.
//!
//! Field elements mod p = 2^255 - 19 are ten signed limbs of alternately 26
//! and 25 bits (limb i sits at bit ⌈25.5·i⌉), so every product is a native
//! 64-bit multiply on wasm32 as on x86-64.

use crate::ct::wipe;

type Fe = [i64; 10];

/// Bit position of each limb.
const OFFSET: [u32; 10] = [0, 26, 51, 77, 102, 128, 153, 179, 204, 230];

#[inline(always)]
fn width(i: usize) -> u32 {
    if i % 2 == 0 {
        26
    } else {
        25
    }
}

fn fe_add(a: &Fe, b: &Fe) -> Fe {
    let mut h = [0i64; 10];
    for i in 0..10 {
        h[i] = a[i] + b[i];
    }
    h
}

fn fe_sub(a: &Fe, b: &Fe) -> Fe {
    let mut h = [0i64; 10];
    for i in 0..10 {
        h[i] = a[i] - b[i];
    }
    h
}

/// Repeats `$body` with `$i` bound to each of 0..10, so that every index and
/// every choice below is a constant the compiler folds (no loops, no branches).
macro_rules! unroll10 {
    ($i:ident => $body:block) => {{
        {
            let $i: usize = 0;
            $body
        }
        {
            let $i: usize = 1;
            $body
        }
        {
            let $i: usize = 2;
            $body
        }
        {
            let $i: usize = 3;
            $body
        }
        {
            let $i: usize = 4;
            $body
        }
        {
            let $i: usize = 5;
            $body
        }
        {
            let $i: usize = 6;
            $body
        }
        {
            let $i: usize = 7;
            $body
        }
        {
            let $i: usize = 8;
            $body
        }
        {
            let $i: usize = 9;
            $body
        }
    }};
}

/// Brings every limb back to about its width (rounding carries; signed limbs).
#[inline(always)]
fn carry(h: &mut [i64; 10]) {
    unroll10!(i => {
        let bits = width(i);
        let c = (h[i] + (1i64 << (bits - 1))) >> bits;
        h[i] -= c << bits;
        if i < 9 {
            h[i + 1] += c;
        } else {
            h[0] += 19 * c;
        }
    });
    let c = (h[0] + (1 << 25)) >> 26;
    h[0] -= c << 26;
    h[1] += c;
}

/// f·g mod p. Inputs may be sums or differences of two carried elements.
///
/// Limb i·j lands in limb i+j, doubled when both are odd (their bit
/// positions round up twice), and wraps to limb i+j-10 times 19 (2^255 ≡ 19).
#[inline(always)]
fn fe_mul(f: &Fe, g: &Fe) -> Fe {
    let mut f2 = *f;
    let mut g19 = *g;
    unroll10!(i => {
        if i % 2 == 1 {
            f2[i] *= 2;
        }
        g19[i] *= 19;
    });
    let mut h = [0i64; 10];
    unroll10!(i => {
        unroll10!(j => {
            let a = if j % 2 == 1 { f2[i] } else { f[i] };
            let b = if i + j >= 10 { g19[j] } else { g[j] };
            h[(i + j) % 10] += a * b;
        });
    });
    carry(&mut h);
    h
}

/// f² mod p, using the symmetry of the product.
#[inline(always)]
fn fe_sq(f: &Fe) -> Fe {
    let mut f2 = *f;
    unroll10!(i => {
        if i % 2 == 1 {
            f2[i] *= 2;
        }
    });
    let mut h = [0i64; 10];
    unroll10!(i => {
        unroll10!(j => {
            if j >= i {
                let a = if j % 2 == 1 { f2[i] } else { f[i] };
                let mut p = a * f[j];
                if i != j {
                    p *= 2;
                }
                if i + j >= 10 {
                    p *= 19;
                }
                h[(i + j) % 10] += p;
            }
        });
    });
    carry(&mut h);
    h
}

/// fe_mul out of line, for the inversion. The ladder inlines its field
/// operations (each unrolled, ~1.3 KB of wasm); the inversion's 22 would make
/// a 13 KB function that runs once per X25519, and that V8 compiles on the
/// main thread on its first call, in every run's start (~0.6 ms). Out of line
/// they cost the inversion nothing measurable (bench:crypto, x25519 warm).
#[inline(never)]
fn fe_mul_once(f: &Fe, g: &Fe) -> Fe {
    fe_mul(f, g)
}

/// f^(2^n), out of line for the same reason as [`fe_mul_once`].
#[inline(never)]
fn fe_sq_n(f: &Fe, n: usize) -> Fe {
    let mut h = fe_sq(f);
    for _ in 1..n {
        h = fe_sq(&h);
    }
    h
}

fn fe_mul_small(f: &Fe, k: i64) -> Fe {
    let mut h = [0i64; 10];
    for i in 0..10 {
        h[i] = f[i] * k;
    }
    carry(&mut h);
    h
}

/// z^(p-2) = z^-1 (0 for 0), by a fixed chain of squarings and multiplications.
fn fe_invert(z: &Fe) -> Fe {
    let z2 = fe_sq_n(z, 1);
    let z9 = fe_mul_once(&fe_sq_n(&z2, 2), z);
    let z11 = fe_mul_once(&z9, &z2);
    let z_5_0 = fe_mul_once(&fe_sq_n(&z11, 1), &z9); // z^(2^5 - 1)
    let z_10_0 = fe_mul_once(&fe_sq_n(&z_5_0, 5), &z_5_0);
    let z_20_0 = fe_mul_once(&fe_sq_n(&z_10_0, 10), &z_10_0);
    let z_40_0 = fe_mul_once(&fe_sq_n(&z_20_0, 20), &z_20_0);
    let z_50_0 = fe_mul_once(&fe_sq_n(&z_40_0, 10), &z_10_0);
    let z_100_0 = fe_mul_once(&fe_sq_n(&z_50_0, 50), &z_50_0);
    let z_200_0 = fe_mul_once(&fe_sq_n(&z_100_0, 100), &z_100_0);
    let z_250_0 = fe_mul_once(&fe_sq_n(&z_200_0, 50), &z_50_0);
    fe_mul_once(&fe_sq_n(&z_250_0, 5), &z11) // z^(2^255 - 21)
}

/// Loads a little-endian u-coordinate, ignoring bit 255 (RFC 7748 §5).
fn fe_from_bytes(b: &[u8; 32]) -> Fe {
    let mut w = [0u64; 4];
    for (i, word) in w.iter_mut().enumerate() {
        *word = u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().unwrap());
    }
    w[3] &= (1 << 63) - 1;
    let mut h = [0i64; 10];
    for i in 0..10 {
        let off = OFFSET[i];
        let (k, s) = ((off / 64) as usize, off % 64);
        let mut v = w[k] >> s;
        if s + width(i) > 64 {
            v |= w[k + 1] << (64 - s);
        }
        h[i] = (v & ((1 << width(i)) - 1)) as i64;
    }
    h
}

/// One pass of floor carries, wrapping the top carry around as 19·c.
fn carry_floor(h: &mut Fe) {
    for i in 0..10 {
        let bits = width(i);
        let c = h[i] >> bits;
        h[i] -= c << bits;
        if i < 9 {
            h[i + 1] += c;
        } else {
            h[0] += 19 * c;
        }
    }
}

/// The canonical 32-byte encoding (fully reduced mod p).
fn fe_to_bytes(f: &Fe) -> [u8; 32] {
    let mut h = *f;
    carry(&mut h);
    // Three passes leave every limb in [0, 2^width): the value in [0, 2^255).
    carry_floor(&mut h);
    carry_floor(&mut h);
    carry_floor(&mut h);
    // Subtract p when h + 19 reaches 2^255, selected by mask.
    let mut t = h;
    t[0] += 19;
    for i in 0..9 {
        let c = t[i] >> width(i);
        t[i] -= c << width(i);
        t[i + 1] += c;
    }
    let top = t[9] >> 25;
    t[9] -= top << 25;
    let mask = -top; // all ones when h >= p
    for i in 0..10 {
        h[i] ^= mask & (h[i] ^ t[i]);
    }
    let mut out = [0u8; 32];
    let mut acc: u128 = 0;
    let mut bits = 0u32;
    let mut pos = 0;
    for i in 0..10 {
        acc |= (h[i] as u128) << bits;
        bits += width(i);
        while bits >= 8 {
            out[pos] = acc as u8;
            acc >>= 8;
            bits -= 8;
            pos += 1;
        }
    }
    out[31] = acc as u8;
    out
}

/// Swaps `a` and `b` when `swap` is 1, leaves them when 0, without branching.
#[inline(always)]
fn cswap(swap: i64, a: &mut Fe, b: &mut Fe) {
    let mask = -swap;
    for i in 0..10 {
        let t = mask & (a[i] ^ b[i]);
        a[i] ^= t;
        b[i] ^= t;
    }
}

fn wipe_fe(f: &mut Fe) {
    for x in f.iter_mut() {
        unsafe { core::ptr::write_volatile(x, 0) };
    }
}

/// Clears the three low bits and bit 255, sets bit 254 (RFC 7748 §5 decodeScalar25519).
pub fn clamp(k: &mut [u8; 32]) {
    k[0] &= 248;
    k[31] &= 127;
    k[31] |= 64;
}

/// X25519(scalar, point): clamps a copy of `scalar`, masks the top bit of `point`.
/// Returns the u-coordinate of the product; all zeros for low-order points.
pub fn scalarmult(scalar: &[u8; 32], point: &[u8; 32]) -> [u8; 32] {
    let mut k = *scalar;
    clamp(&mut k);
    let x1 = fe_from_bytes(point);
    let mut x2: Fe = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let mut z2: Fe = [0; 10];
    let mut x3 = x1;
    let mut z3: Fe = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let mut swap = 0i64;
    for t in (0..255).rev() {
        let bit = ((k[t / 8] >> (t % 8)) & 1) as i64;
        swap ^= bit;
        cswap(swap, &mut x2, &mut x3);
        cswap(swap, &mut z2, &mut z3);
        swap = bit;

        let a = fe_add(&x2, &z2);
        let aa = fe_sq(&a);
        let b = fe_sub(&x2, &z2);
        let bb = fe_sq(&b);
        let e = fe_sub(&aa, &bb);
        let c = fe_add(&x3, &z3);
        let d = fe_sub(&x3, &z3);
        let da = fe_mul(&d, &a);
        let cb = fe_mul(&c, &b);
        x3 = fe_sq(&fe_add(&da, &cb));
        z3 = fe_mul(&x1, &fe_sq(&fe_sub(&da, &cb)));
        x2 = fe_mul(&aa, &bb);
        z2 = fe_mul(&e, &fe_add(&aa, &fe_mul_small(&e, 121665)));
    }
    cswap(swap, &mut x2, &mut x3);
    cswap(swap, &mut z2, &mut z3);
    let out = fe_to_bytes(&fe_mul(&x2, &fe_invert(&z2)));
    wipe(&mut k);
    wipe_fe(&mut x2);
    wipe_fe(&mut z2);
    wipe_fe(&mut x3);
    wipe_fe(&mut z3);
    out
}

/// The public key of a private key: X25519(scalar, 9).
pub fn scalarmult_base(scalar: &[u8; 32]) -> [u8; 32] {
    let mut nine = [0u8; 32];
    nine[0] = 9;
    scalarmult(scalar, &nine)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blake2s::hex;

    fn b32(s: &str) -> [u8; 32] {
        hex(s).try_into().unwrap()
    }

    #[test]
    fn rfc7748_5_2_single_vectors() {
        assert_eq!(
            scalarmult(
                &b32("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                &b32("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")
            ),
            b32("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")
        );
        assert_eq!(
            scalarmult(
                &b32("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"),
                &b32("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493")
            ),
            b32("95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957")
        );
    }

    #[test]
    fn rfc7748_5_2_iterated_1_and_1000_times() {
        let mut k = [0u8; 32];
        k[0] = 9;
        let mut u = k;
        for i in 1..=1000 {
            let r = scalarmult(&k, &u);
            u = k;
            k = r;
            if i == 1 {
                assert_eq!(
                    k,
                    b32("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079")
                );
            }
        }
        assert_eq!(
            k,
            b32("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51")
        );
    }

    #[test]
    fn rfc7748_6_1_diffie_hellman() {
        let a = b32("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let b = b32("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        let pa = scalarmult_base(&a);
        let pb = scalarmult_base(&b);
        assert_eq!(
            pa,
            b32("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        );
        assert_eq!(
            pb,
            b32("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        );
        let shared = b32("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        assert_eq!(scalarmult(&a, &pb), shared);
        assert_eq!(scalarmult(&b, &pa), shared);
    }

    #[test]
    fn low_order_points_give_zero() {
        let k = [0x11u8; 32];
        assert_eq!(scalarmult(&k, &[0u8; 32]), [0u8; 32]);
        let mut one = [0u8; 32];
        one[0] = 1;
        assert_eq!(scalarmult(&k, &one), [0u8; 32]);
        // p - 1 (order 2) and p (≡ 0, non-canonical).
        let mut p_minus_1 = [0xffu8; 32];
        p_minus_1[0] = 0xec;
        p_minus_1[31] = 0x7f;
        assert_eq!(scalarmult(&k, &p_minus_1), [0u8; 32]);
        let mut p = p_minus_1;
        p[0] = 0xed;
        assert_eq!(scalarmult(&k, &p), [0u8; 32]);
    }

    #[test]
    fn encoding_round_trips_and_reduces_non_canonical_values() {
        // p + 2 encodes as 2 after reduction; top bit is ignored on input.
        let mut v = [0xffu8; 32];
        v[0] = 0xef;
        v[31] = 0x7f;
        let mut two = [0u8; 32];
        two[0] = 2;
        assert_eq!(fe_to_bytes(&fe_from_bytes(&v)), two);
        let x = b32("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
        assert_eq!(fe_to_bytes(&fe_from_bytes(&x)), x);
        let mut top = x;
        top[31] |= 0x80;
        assert_eq!(fe_to_bytes(&fe_from_bytes(&top)), x);
        // a · a^-1 = 1
        let a = fe_from_bytes(&x);
        let mut one = [0u8; 32];
        one[0] = 1;
        assert_eq!(fe_to_bytes(&fe_mul(&a, &fe_invert(&a))), one);
        // sq agrees with mul on unreduced sums
        let s = fe_add(&a, &a);
        assert_eq!(fe_to_bytes(&fe_sq(&s)), fe_to_bytes(&fe_mul(&s, &s)));
        // -1 encodes as p - 1
        let minus_one = fe_sub(&[0; 10], &fe_from_bytes(&one));
        let mut p_minus_1 = [0xffu8; 32];
        p_minus_1[0] = 0xec;
        p_minus_1[31] = 0x7f;
        assert_eq!(fe_to_bytes(&minus_one), p_minus_1);
    }

    #[test]
    fn clamp_follows_rfc7748() {
        let mut k = [0xffu8; 32];
        clamp(&mut k);
        assert_eq!(k[0], 0xf8);
        assert_eq!(k[31], 0x7f);
        let mut k = [0u8; 32];
        clamp(&mut k);
        assert_eq!(k[31], 0x40);
    }
}
