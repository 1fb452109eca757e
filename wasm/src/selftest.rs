//! Built-in known-answer checks, one per primitive, run by `wg_selftest`.
//! Each check has a number; the first failing one is reported.

use crate::ct::ct_eq;

type Check = fn() -> bool;

/// Check numbers are positions in this table plus one; append new checks at the end.
const CHECKS: &[Check] = &[
    blake2s_abc,
    hmac_blake2s,
    kdf_chain,
    chacha20_poly1305,
    xchacha20_poly1305,
    x25519_rfc7748,
];

/// 0 when every check passes, otherwise the number of the first that fails.
pub fn run() -> i32 {
    for (i, check) in CHECKS.iter().enumerate() {
        if !check() {
            return i as i32 + 1;
        }
    }
    0
}

/// RFC 7693 Appendix B.
fn blake2s_abc() -> bool {
    let mut out = [0u8; 32];
    crate::blake2s::hash(&mut out, &[], &[b"abc"]);
    ct_eq(
        &out,
        &[
            0x50, 0x8c, 0x5e, 0x8c, 0x32, 0x7c, 0x14, 0xe2, 0xe1, 0xa7, 0x2b, 0xa3, 0x4e, 0xeb,
            0x45, 0x2f, 0x37, 0x45, 0x8b, 0x20, 0x9e, 0xd6, 0x3a, 0x29, 0x4d, 0x99, 0x9b, 0x4c,
            0x86, 0x67, 0x59, 0x82,
        ],
    )
}

fn hmac_blake2s() -> bool {
    let out = crate::kdf::hmac(b"key", &[b"The quick brown fox jumps over the lazy dog"]);
    ct_eq(
        &out,
        &[
            0xf9, 0x32, 0x15, 0xbb, 0x90, 0xd4, 0xaf, 0x4c, 0x30, 0x61, 0xcd, 0x93, 0x2f, 0xb1,
            0x69, 0xfb, 0x8b, 0xb8, 0xa9, 0x1d, 0x0b, 0x40, 0x22, 0xba, 0xea, 0x12, 0x71, 0xe1,
            0x32, 0x3c, 0xd9, 0xa0,
        ],
    )
}

/// The Noise initial chaining key HASH(CONSTRUCTION) and one KDF step on it.
fn kdf_chain() -> bool {
    let mut ck = [0u8; 32];
    crate::blake2s::hash(&mut ck, &[], &[crate::messages::CONSTRUCTION]);
    let (t1, _) = crate::kdf::kdf2(&ck, b"input");
    ck[..4] == [0x60, 0xe2, 0x6d, 0xae] && t1[..4] == [0xb5, 0x8c, 0xc5, 0x5b]
}

const SUNSCREEN: &[u8] = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
const AAD: [u8; 12] = [
    0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
];

fn key_80() -> [u8; 32] {
    let mut k = [0u8; 32];
    for (i, b) in k.iter_mut().enumerate() {
        *b = 0x80 + i as u8;
    }
    k
}

/// RFC 8439 §2.8.2: the tag, and that opening restores the plaintext.
fn chacha20_poly1305() -> bool {
    let nonce = [7, 0, 0, 0, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47];
    let mut buf = [0u8; 114];
    buf.copy_from_slice(SUNSCREEN);
    let tag = crate::aead::seal_nonce(&key_80(), &nonce, &AAD, &mut buf);
    let expected = [
        0x1a, 0xe1, 0x0b, 0x59, 0x4f, 0x09, 0xe2, 0x6a, 0x7e, 0x90, 0x2e, 0xcb, 0xd0, 0x60, 0x06,
        0x91,
    ];
    ct_eq(&tag, &expected)
        && buf[0] == 0xd3
        && crate::aead::open_nonce(&key_80(), &nonce, &AAD, &mut buf, &tag).is_ok()
        && buf[..] == SUNSCREEN[..]
}

/// draft-irtf-cfrg-xchacha Appendix A.3.1.
fn xchacha20_poly1305() -> bool {
    let mut nonce = [0u8; 24];
    for (i, b) in nonce.iter_mut().enumerate() {
        *b = 0x40 + i as u8;
    }
    let mut buf = [0u8; 114];
    buf.copy_from_slice(SUNSCREEN);
    let tag = crate::aead::xseal(&key_80(), &nonce, &AAD, &mut buf);
    let expected = [
        0xc0, 0x87, 0x59, 0x24, 0xc1, 0xc7, 0x98, 0x79, 0x47, 0xde, 0xaf, 0xd8, 0x78, 0x0a, 0xcf,
        0x49,
    ];
    ct_eq(&tag, &expected) && buf[0] == 0xbd
}

/// RFC 7748 §6.1: Alice's public key.
fn x25519_rfc7748() -> bool {
    let private = [
        0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d, 0x3c, 0x16, 0xc1, 0x72, 0x51, 0xb2, 0x66,
        0x45, 0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0, 0x99, 0x2a, 0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9,
        0x2c, 0x2a,
    ];
    let public = [
        0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54, 0x74, 0x8b, 0x7d, 0xdc, 0xb4, 0x3e, 0xf7,
        0x5a, 0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38, 0x1a, 0xf4, 0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b,
        0x4e, 0x6a,
    ];
    ct_eq(&crate::x25519::scalarmult_base(&private), &public)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_builtin_check_passes() {
        assert_eq!(super::run(), 0);
    }
}
