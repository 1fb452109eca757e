//! Every `#[no_mangle]` export of the module (ABI in wasm/README.md), and nothing else
//! but the argument checks they share. Pointers and lengths are `usize` (u32 on wasm32).
//! Exports never trap on bad arguments: they return `-InvalidArgument`.

use crate::messages::Error;
use std::alloc::{alloc, dealloc, Layout};

fn fail(e: Error) -> i32 {
    -(e as i32)
}

/// True when `[ptr, ptr + len)` is a non-null range inside linear memory.
fn in_memory(ptr: usize, len: usize) -> bool {
    if ptr == 0 {
        return false;
    }
    let end = match ptr.checked_add(len) {
        Some(e) => e,
        None => return false,
    };
    #[cfg(target_arch = "wasm32")]
    {
        let size = core::arch::wasm32::memory_size(0).saturating_mul(65536);
        end <= size
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = end;
        true
    }
}

/// A caller's input buffer; empty when `len` is 0 whatever `ptr` is.
unsafe fn input<'a>(ptr: usize, len: usize) -> Result<&'a [u8], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if !in_memory(ptr, len) {
        return Err(Error::InvalidArgument);
    }
    Ok(core::slice::from_raw_parts(ptr as *const u8, len))
}

/// A caller's output buffer.
unsafe fn output<'a>(ptr: usize, len: usize) -> Result<&'a mut [u8], Error> {
    if len == 0 {
        return Ok(&mut []);
    }
    if !in_memory(ptr, len) {
        return Err(Error::InvalidArgument);
    }
    Ok(core::slice::from_raw_parts_mut(ptr as *mut u8, len))
}

fn layout(len: usize) -> Option<Layout> {
    Layout::from_size_align(len.max(1), 16).ok()
}

// ---- Memory and self test ----

/// Allocates `len` bytes aligned to 16; 0 when out of memory.
#[no_mangle]
pub extern "C" fn wg_alloc(len: usize) -> usize {
    match layout(len) {
        Some(l) => unsafe { alloc(l) as usize },
        None => 0,
    }
}

/// Zeroes and frees a block from `wg_alloc` (`len` as passed to it). Null is ignored.
#[no_mangle]
pub unsafe extern "C" fn wg_free(ptr: usize, len: usize) {
    if ptr == 0 {
        return;
    }
    if let Some(l) = layout(len) {
        crate::ct::wipe(core::slice::from_raw_parts_mut(ptr as *mut u8, l.size()));
        dealloc(ptr as *mut u8, l);
    }
}

/// 0, or the number of the first failing built-in check.
#[no_mangle]
pub extern "C" fn wg_selftest() -> i32 {
    crate::selftest::run()
}

// ---- Primitives ----

/// BLAKE2s of `msg` with an `out_len`-byte digest (1..=32), keyed when `key_len` > 0 (<= 32).
#[no_mangle]
pub unsafe extern "C" fn wg_blake2s(
    out: usize,
    out_len: usize,
    key: usize,
    key_len: usize,
    msg: usize,
    msg_len: usize,
) -> i32 {
    if !(1..=32).contains(&out_len) || key_len > 32 {
        return fail(Error::InvalidArgument);
    }
    let run = || -> Result<(), Error> {
        let key: [u8; 32] = {
            let k = input(key, key_len)?;
            let mut a = [0u8; 32];
            a[..key_len].copy_from_slice(k);
            a
        };
        let mut digest = [0u8; 32];
        crate::blake2s::hash(&mut digest[..out_len], &key[..key_len], &[input(msg, msg_len)?]);
        output(out, out_len)?.copy_from_slice(&digest[..out_len]);
        Ok(())
    };
    match run() {
        Ok(()) => 0,
        Err(e) => fail(e),
    }
}

/// HMAC-BLAKE2s of `msg` under a key of any length; writes 32 bytes.
#[no_mangle]
pub unsafe extern "C" fn wg_hmac_blake2s(
    out: usize,
    key: usize,
    key_len: usize,
    msg: usize,
    msg_len: usize,
) -> i32 {
    let run = || -> Result<(), Error> {
        let mac = crate::kdf::hmac(input(key, key_len)?, &[input(msg, msg_len)?]);
        output(out, 32)?.copy_from_slice(&mac);
        Ok(())
    };
    match run() {
        Ok(()) => 0,
        Err(e) => fail(e),
    }
}
