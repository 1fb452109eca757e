//! Constant-time comparison and wiping of secrets.

use core::sync::atomic::{compiler_fence, Ordering};

/// Compares two byte strings without branching on their contents.
/// Slices of different lengths are unequal (the lengths are not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    // A volatile read keeps the optimizer from turning the loop into an early exit.
    let diff = unsafe { core::ptr::read_volatile(&diff) };
    diff == 0
}

/// Overwrites `buf` with zeros in a way the optimizer may not remove.
pub fn wipe(buf: &mut [u8]) {
    // Word stores for the aligned middle, byte stores for the ends.
    let (head, words, tail) = unsafe { buf.align_to_mut::<u64>() };
    for b in head.iter_mut().chain(tail.iter_mut()) {
        unsafe { core::ptr::write_volatile(b, 0) };
    }
    for w in words.iter_mut() {
        unsafe { core::ptr::write_volatile(w, 0) };
    }
    compiler_fence(Ordering::SeqCst);
}

/// Zeroes a slice of words (state arrays of the primitives).
pub fn wipe_u32(buf: &mut [u32]) {
    for w in buf.iter_mut() {
        unsafe { core::ptr::write_volatile(w, 0) };
    }
    compiler_fence(Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_and_unequal_strings() {
        assert!(ct_eq(b"", b""));
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        let mut a = [0x5au8; 32];
        let b = a;
        for i in 0..32 {
            for bit in 0..8 {
                a[i] ^= 1 << bit;
                assert!(!ct_eq(&a, &b));
                a[i] ^= 1 << bit;
            }
        }
        assert!(ct_eq(&a, &b));
    }

    #[test]
    fn wipe_zeroes_everything() {
        let mut a = [0xffu8; 77];
        for start in 0..9 {
            for end in start..77 {
                a.fill(0xff);
                wipe(&mut a[start..end]);
                assert!(a[start..end].iter().all(|&b| b == 0));
                assert!(a[..start].iter().chain(&a[end..]).all(|&b| b == 0xff));
            }
        }
        let mut w = [7u32; 16];
        wipe_u32(&mut w);
        assert!(w.iter().all(|&x| x == 0));
    }
}
