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

/// A fixed-size input copied out of linear memory.
unsafe fn array<const N: usize>(ptr: usize) -> Result<[u8; N], Error> {
    let s = input(ptr, N)?;
    let mut a = [0u8; N];
    a.copy_from_slice(s);
    Ok(a)
}

/// True when two ranges share a byte.
fn overlaps(a: usize, a_len: usize, b: usize, b_len: usize) -> bool {
    a_len != 0 && b_len != 0 && a < b.saturating_add(b_len) && b < a.saturating_add(a_len)
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
        crate::blake2s::hash(
            &mut digest[..out_len],
            &key[..key_len],
            &[input(msg, msg_len)?],
        );
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

/// Which AEAD an export runs; the nonce length follows from it.
#[derive(Clone, Copy)]
enum Aead {
    ChaCha,
    XChaCha,
}

/// Seals `msg` into `out` (ciphertext then tag); `msg` and `out` may overlap, `aad` may not
/// overlap `out`. Returns the bytes written.
unsafe fn aead_seal(
    kind: Aead,
    key: usize,
    nonce: usize,
    aad: usize,
    aad_len: usize,
    msg: usize,
    msg_len: usize,
    out: usize,
) -> Result<i32, Error> {
    let total = msg_len.checked_add(16).ok_or(Error::InvalidArgument)?;
    if total > i32::MAX as usize || overlaps(aad, aad_len, out, total) {
        return Err(Error::InvalidArgument);
    }
    let mut key: [u8; 32] = array(key)?;
    input(msg, msg_len)?;
    let out_buf = output(out, total)?;
    if msg != out {
        core::ptr::copy(msg as *const u8, out_buf.as_mut_ptr(), msg_len);
    }
    let aad = input(aad, aad_len)?;
    let (body, tag_out) = out_buf.split_at_mut(msg_len);
    let tag = match kind {
        Aead::ChaCha => crate::aead::seal_nonce(&key, &array(nonce)?, aad, body),
        Aead::XChaCha => crate::aead::xseal(&key, &array(nonce)?, aad, body),
    };
    tag_out.copy_from_slice(&tag);
    crate::ct::wipe(&mut key);
    Ok(total as i32)
}

/// Opens `ct` (ciphertext then tag) into `out`; they may overlap, `aad` may not overlap `out`.
/// Returns the plaintext length. On a bad tag nothing of the plaintext is left in `out`.
unsafe fn aead_open(
    kind: Aead,
    key: usize,
    nonce: usize,
    aad: usize,
    aad_len: usize,
    ct: usize,
    ct_len: usize,
    out: usize,
) -> Result<i32, Error> {
    if ct_len < 16 || ct_len > i32::MAX as usize {
        return Err(Error::InvalidArgument);
    }
    let len = ct_len - 16;
    if overlaps(aad, aad_len, out, len) {
        return Err(Error::InvalidArgument);
    }
    input(ct, ct_len)?;
    let mut key: [u8; 32] = array(key)?;
    let tag: [u8; 16] = array(ct + len)?;
    let out_buf = output(out, len)?;
    if ct != out {
        core::ptr::copy(ct as *const u8, out_buf.as_mut_ptr(), len);
    }
    let aad = input(aad, aad_len)?;
    let opened = match kind {
        Aead::ChaCha => crate::aead::open_nonce(&key, &array(nonce)?, aad, out_buf, &tag),
        Aead::XChaCha => crate::aead::xopen(&key, &array(nonce)?, aad, out_buf, &tag),
    };
    crate::ct::wipe(&mut key);
    match opened {
        Ok(()) => Ok(len as i32),
        Err(()) => {
            if out != ct {
                crate::ct::wipe(out_buf);
            }
            Err(Error::AuthFailed)
        }
    }
}

fn status(r: Result<i32, Error>) -> i32 {
    match r {
        Ok(n) => n,
        Err(e) => fail(e),
    }
}

/// ChaCha20-Poly1305 seal: writes `msg_len + 16` bytes (ciphertext, tag) and returns that count.
#[no_mangle]
pub unsafe extern "C" fn wg_aead_seal(
    key: usize,
    nonce: usize,
    aad: usize,
    aad_len: usize,
    msg: usize,
    msg_len: usize,
    out: usize,
) -> i32 {
    status(aead_seal(
        Aead::ChaCha,
        key,
        nonce,
        aad,
        aad_len,
        msg,
        msg_len,
        out,
    ))
}

/// ChaCha20-Poly1305 open: writes `ct_len - 16` bytes and returns that count, or `-AuthFailed`.
#[no_mangle]
pub unsafe extern "C" fn wg_aead_open(
    key: usize,
    nonce: usize,
    aad: usize,
    aad_len: usize,
    ct: usize,
    ct_len: usize,
    out: usize,
) -> i32 {
    status(aead_open(
        Aead::ChaCha,
        key,
        nonce,
        aad,
        aad_len,
        ct,
        ct_len,
        out,
    ))
}

/// XChaCha20-Poly1305 seal with a 24-byte nonce; as `wg_aead_seal`.
#[no_mangle]
pub unsafe extern "C" fn wg_xaead_seal(
    key: usize,
    nonce: usize,
    aad: usize,
    aad_len: usize,
    msg: usize,
    msg_len: usize,
    out: usize,
) -> i32 {
    status(aead_seal(
        Aead::XChaCha,
        key,
        nonce,
        aad,
        aad_len,
        msg,
        msg_len,
        out,
    ))
}

/// XChaCha20-Poly1305 open with a 24-byte nonce; as `wg_aead_open`.
#[no_mangle]
pub unsafe extern "C" fn wg_xaead_open(
    key: usize,
    nonce: usize,
    aad: usize,
    aad_len: usize,
    ct: usize,
    ct_len: usize,
    out: usize,
) -> i32 {
    status(aead_open(
        Aead::XChaCha,
        key,
        nonce,
        aad,
        aad_len,
        ct,
        ct_len,
        out,
    ))
}

/// X25519 of a (clamped) scalar and a point; writes 32 bytes, `-DhZero` when they are all zero.
#[no_mangle]
pub unsafe extern "C" fn wg_x25519(out: usize, scalar: usize, point: usize) -> i32 {
    let run = || -> Result<i32, Error> {
        let mut k: [u8; 32] = array(scalar)?;
        let u: [u8; 32] = array(point)?;
        let shared = crate::x25519::scalarmult(&k, &u);
        crate::ct::wipe(&mut k);
        output(out, 32)?.copy_from_slice(&shared);
        if crate::ct::ct_eq(&shared, &[0u8; 32]) {
            return Err(Error::DhZero);
        }
        Ok(0)
    };
    status(run())
}

/// The public key of a private key (X25519 with the base point 9); writes 32 bytes.
#[no_mangle]
pub unsafe extern "C" fn wg_x25519_base(out: usize, scalar: usize) -> i32 {
    let run = || -> Result<i32, Error> {
        let mut k: [u8; 32] = array(scalar)?;
        let public = crate::x25519::scalarmult_base(&k);
        crate::ct::wipe(&mut k);
        output(out, 32)?.copy_from_slice(&public);
        Ok(0)
    };
    status(run())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(b: &[u8]) -> usize {
        b.as_ptr() as usize
    }

    #[test]
    fn aead_exports_round_trip_separately_and_in_place() {
        let key = [5u8; 32];
        let nonce = [6u8; 24];
        let aad = b"aad".to_vec();
        let msg = b"hello wasm world".to_vec();
        for (seal, open) in [
            (
                wg_aead_seal as unsafe extern "C" fn(_, _, _, _, _, _, _) -> i32,
                wg_aead_open as unsafe extern "C" fn(_, _, _, _, _, _, _) -> i32,
            ),
            (wg_xaead_seal, wg_xaead_open),
        ] {
            unsafe {
                let mut out = vec![0u8; msg.len() + 16];
                let n = seal(
                    p(&key),
                    p(&nonce),
                    p(&aad),
                    3,
                    p(&msg),
                    msg.len(),
                    out.as_mut_ptr() as usize,
                );
                assert_eq!(n, 32);
                // In place: the message at the start of the output buffer.
                let mut inplace = msg.clone();
                inplace.resize(msg.len() + 16, 0);
                let ptr = inplace.as_mut_ptr() as usize;
                assert_eq!(
                    seal(p(&key), p(&nonce), p(&aad), 3, ptr, msg.len(), ptr),
                    32
                );
                assert_eq!(inplace, out);
                let mut plain = vec![0u8; msg.len()];
                let n = open(
                    p(&key),
                    p(&nonce),
                    p(&aad),
                    3,
                    p(&out),
                    out.len(),
                    plain.as_mut_ptr() as usize,
                );
                assert_eq!(n, 16);
                assert_eq!(plain, msg);
                assert_eq!(
                    open(p(&key), p(&nonce), p(&aad), 3, ptr, inplace.len(), ptr),
                    16
                );
                assert_eq!(&inplace[..16], &msg[..]);
                out[0] ^= 1;
                let mut plain = vec![0xaau8; msg.len()];
                let n = open(
                    p(&key),
                    p(&nonce),
                    p(&aad),
                    3,
                    p(&out),
                    out.len(),
                    plain.as_mut_ptr() as usize,
                );
                assert_eq!(n, -(Error::AuthFailed as i32));
                assert!(plain.iter().all(|&b| b == 0));
            }
        }
    }

    #[test]
    fn bad_arguments_are_rejected_not_trapped() {
        let key = [5u8; 32];
        let buf = [0u8; 64];
        let inv = -(Error::InvalidArgument as i32);
        unsafe {
            assert_eq!(wg_aead_seal(0, p(&buf), 0, 0, p(&buf), 4, p(&buf) + 8), inv);
            assert_eq!(
                wg_aead_open(p(&key), p(&buf), 0, 0, p(&buf), 15, p(&buf)),
                inv
            );
            assert_eq!(
                wg_aead_seal(p(&key), p(&buf), 0, 0, p(&buf), usize::MAX - 4, p(&buf)),
                inv
            );
            // aad overlapping the output
            assert_eq!(
                wg_aead_seal(p(&key), p(&buf), p(&buf), 8, p(&buf), 4, p(&buf)),
                inv
            );
            assert_eq!(wg_blake2s(p(&buf), 0, 0, 0, 0, 0), inv);
            assert_eq!(wg_blake2s(p(&buf), 33, 0, 0, 0, 0), inv);
            assert_eq!(wg_blake2s(p(&buf), 32, p(&key), 33, 0, 0), inv);
            assert_eq!(wg_blake2s(0, 32, 0, 0, 0, 0), inv);
            assert_eq!(wg_hmac_blake2s(0, 0, 0, 0, 0), inv);
            assert_eq!(wg_x25519(p(&buf), 0, p(&key)), inv);
            assert_eq!(wg_x25519_base(0, p(&key)), inv);
            let mut out = [1u8; 32];
            let zero = [0u8; 32];
            let dh_zero = -(Error::DhZero as i32);
            assert_eq!(
                wg_x25519(out.as_mut_ptr() as usize, p(&key), p(&zero)),
                dh_zero
            );
            assert_eq!(out, zero);
        }
    }

    #[test]
    fn alloc_and_free_give_aligned_blocks() {
        let a = wg_alloc(100);
        assert!(a != 0 && a % 16 == 0);
        unsafe { wg_free(a, 100) };
        let z = wg_alloc(0);
        assert!(z != 0);
        unsafe { wg_free(z, 0) };
        unsafe { wg_free(0, 10) };
        assert_eq!(wg_selftest(), 0);
    }
}

// ---- Device and peers (wasm/README.md "Device and peers") ----

use crate::device::{Batch, Device};
use crate::messages::{DESC_WORDS, ENDPOINT_WORDS, EVENT_CAPACITY, EVENT_WORDS, STATS_VALUES};
use crate::peer::Endpoint;

/// The one device of this instance, made on first use.
static mut DEVICE: Option<Device> = None;

fn device() -> &'static mut Device {
    // Safety: a WebAssembly instance runs one thread and no export re-enters another.
    unsafe { DEVICE.get_or_insert_with(Device::new) }
}

fn unit_status(result: Result<(), Error>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(e) => fail(e),
    }
}

/// An endpoint record (7 little-endian words) read from memory.
unsafe fn endpoint_at(ptr: usize) -> Result<Endpoint, Error> {
    let bytes: [u8; ENDPOINT_WORDS * 4] = array(ptr)?;
    let mut words = [0u32; ENDPOINT_WORDS];
    for (i, w) in words.iter_mut().enumerate() {
        *w = u32::from_le_bytes([
            bytes[i * 4],
            bytes[i * 4 + 1],
            bytes[i * 4 + 2],
            bytes[i * 4 + 3],
        ]);
    }
    let ep = Endpoint(words);
    if !ep.is_valid() {
        return Err(Error::InvalidArgument);
    }
    Ok(ep)
}

fn finite(values: &[f64]) -> Result<(), Error> {
    if values.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(Error::InvalidArgument)
    }
}

/// The host's slots and descriptors as a batch, after checking that both
/// lie in memory, do not overlap, and the descriptors are word aligned.
unsafe fn batch<'a>(
    slots: usize,
    slot_size: usize,
    desc: usize,
    count: usize,
) -> Result<Batch<'a>, Error> {
    let slot_bytes = slot_size.checked_mul(count).ok_or(Error::InvalidArgument)?;
    let desc_bytes = (DESC_WORDS * 4)
        .checked_mul(count)
        .ok_or(Error::InvalidArgument)?;
    if desc % 4 != 0 || overlaps(slots, slot_bytes, desc, desc_bytes) {
        return Err(Error::InvalidArgument);
    }
    let slots = output(slots, slot_bytes)?;
    let desc_bytes = output(desc, desc_bytes)?;
    let desc =
        core::slice::from_raw_parts_mut(desc_bytes.as_mut_ptr() as *mut u32, DESC_WORDS * count);
    Batch::new(slots, slot_size, desc, count)
}

/// Mixes host randomness into the generator.
#[no_mangle]
pub unsafe extern "C" fn wg_entropy(ptr: usize, len: usize) -> i32 {
    match input(ptr, len) {
        Ok(bytes) => {
            device().entropy(bytes);
            0
        }
        Err(e) => fail(e),
    }
}

/// Sets the device's private key (clamped); the old one is zeroed.
#[no_mangle]
pub unsafe extern "C" fn wg_device_set_private_key(key: usize) -> i32 {
    let mut k: [u8; 32] = match array(key) {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    let r = device().set_private_key(&k);
    crate::ct::wipe(&mut k);
    unit_status(r)
}

/// Writes the device's public key; `-NoPrivateKey` before one is set.
#[no_mangle]
pub unsafe extern "C" fn wg_device_public_key(out: usize) -> i32 {
    let public = match device().public_key() {
        Some(p) => p,
        None => return fail(Error::NoPrivateKey),
    };
    match output(out, 32) {
        Ok(o) => {
            o.copy_from_slice(&public);
            0
        }
        Err(e) => fail(e),
    }
}

/// 0 = decide by itself, 1 = always under load, 2 = never.
#[no_mangle]
pub extern "C" fn wg_device_set_load(mode: u32) -> i32 {
    unit_status(device().set_load(mode))
}

/// Adds a peer; returns its id. `psk` 0 means none.
#[no_mangle]
pub unsafe extern "C" fn wg_peer_add(public: usize, psk: usize, keepalive_s: u32) -> i32 {
    let run = || -> Result<u32, Error> {
        let public: [u8; 32] = array(public)?;
        let psk: Option<[u8; 32]> = if psk == 0 { None } else { Some(array(psk)?) };
        let r = device().add_peer(public, psk, keepalive_s);
        if let Some(mut p) = psk {
            crate::ct::wipe(&mut p);
        }
        r
    };
    match run() {
        Ok(id) => id as i32,
        Err(e) => fail(e),
    }
}

/// Removes a peer; its keys are zeroed.
#[no_mangle]
pub extern "C" fn wg_peer_remove(peer: u32) -> i32 {
    unit_status(device().remove_peer(peer))
}

/// An IP address of `family` (4 or 6) read from `addr`, copied out of the
/// caller's memory, with its length.
unsafe fn address_at(family: u32, addr: usize) -> Result<([u8; 16], usize), Error> {
    let len = match family {
        4 => 4,
        6 => 16,
        _ => return Err(Error::InvalidArgument),
    };
    let mut copy = [0u8; 16];
    copy[..len].copy_from_slice(input(addr, len)?);
    Ok((copy, len))
}

/// Routes `addr/prefix` (family 4 or 6) to the peer.
#[no_mangle]
pub unsafe extern "C" fn wg_peer_allowed_ip_add(
    peer: u32,
    family: u32,
    addr: usize,
    prefix: u32,
) -> i32 {
    match address_at(family, addr) {
        Ok((a, len)) => unit_status(device().add_allowed_ip(peer, &a[..len], prefix)),
        Err(e) => fail(e),
    }
}

/// Changes the peer's preshared key (`psk` 0: none) without ending its
/// sessions; the next handshake uses it.
#[no_mangle]
pub unsafe extern "C" fn wg_peer_set_preshared_key(peer: u32, psk: usize) -> i32 {
    let psk: Option<[u8; 32]> = if psk == 0 {
        None
    } else {
        match array(psk) {
            Ok(k) => Some(k),
            Err(e) => return fail(e),
        }
    };
    let r = device().set_preshared_key(peer, psk);
    if let Some(mut p) = psk {
        crate::ct::wipe(&mut p);
    }
    unit_status(r)
}

/// Changes the peer's persistent keepalive interval (seconds, 0 off) without
/// ending its sessions.
#[no_mangle]
pub extern "C" fn wg_peer_set_keepalive(peer: u32, keepalive_s: u32) -> i32 {
    unit_status(device().set_keepalive(peer, keepalive_s))
}

/// Stops routing `addr/prefix` (family 4 or 6) to the peer; its sessions stay.
#[no_mangle]
pub unsafe extern "C" fn wg_peer_allowed_ip_remove(
    peer: u32,
    family: u32,
    addr: usize,
    prefix: u32,
) -> i32 {
    match address_at(family, addr) {
        Ok((a, len)) => unit_status(device().remove_allowed_ip(peer, &a[..len], prefix)),
        Err(e) => fail(e),
    }
}

/// Sets the peer's endpoint from an endpoint record.
#[no_mangle]
pub unsafe extern "C" fn wg_peer_set_endpoint(peer: u32, ep: usize) -> i32 {
    match endpoint_at(ep) {
        Ok(ep) => unit_status(device().set_endpoint(peer, ep)),
        Err(e) => fail(e),
    }
}

/// Writes the peer's endpoint record: 1 written, 0 none yet.
#[no_mangle]
pub unsafe extern "C" fn wg_peer_endpoint(peer: u32, out: usize) -> i32 {
    let ep = match device().endpoint(peer) {
        Ok(ep) => ep,
        Err(e) => return fail(e),
    };
    let out = match output(out, ENDPOINT_WORDS * 4) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    match ep {
        Some(ep) => {
            for (i, w) in ep.0.iter().enumerate() {
                out[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
            }
            1
        }
        None => 0,
    }
}

/// Writes STATS_VALUES f64 (little endian): last handshake wall ms, rx bytes,
/// tx bytes, handshakes, current session age ms (-1 none), 3 reserved.
#[no_mangle]
pub unsafe extern "C" fn wg_peer_stats(peer: u32, out: usize) -> i32 {
    let stats = match device().stats(peer) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    match output(out, STATS_VALUES * 8) {
        Ok(o) => {
            for (i, v) in stats.iter().enumerate() {
                o[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
            }
            0
        }
        Err(e) => fail(e),
    }
}

/// Starts a handshake now; `wg_poll` emits it.
#[no_mangle]
pub extern "C" fn wg_peer_initiate(peer: u32, now: f64, wall: f64) -> i32 {
    if let Err(e) = finite(&[now, wall]) {
        return fail(e);
    }
    unit_status(device().initiate(peer, now))
}

/// Checks a batch call's arguments, then runs `work` on the batch; `work`
/// returns the call's result.
unsafe fn batch_call(
    slots: usize,
    slot_size: usize,
    desc: usize,
    count: usize,
    times: [f64; 2],
    work: impl FnOnce(&mut Batch) -> i32,
) -> i32 {
    let run = || -> Result<i32, Error> {
        finite(&times)?;
        let count = i32::try_from(count).map_err(|_| Error::InvalidArgument)?;
        let mut b = batch(slots, slot_size, desc, count as usize)?;
        Ok(work(&mut b))
    };
    run().unwrap_or_else(fail)
}

/// TUN → network: seals the batch in place; returns `count`.
#[no_mangle]
pub unsafe extern "C" fn wg_encrypt_batch(
    slots: usize,
    slot_size: usize,
    desc: usize,
    count: usize,
    now: f64,
    wall: f64,
) -> i32 {
    if count == 0 {
        return 0;
    }
    batch_call(slots, slot_size, desc, count, [now, wall], |b| {
        device().encrypt_batch(b, now);
        count as i32
    })
}

/// Network → TUN: opens the batch in place; returns `count`.
#[no_mangle]
pub unsafe extern "C" fn wg_decrypt_batch(
    slots: usize,
    slot_size: usize,
    desc: usize,
    count: usize,
    now: f64,
    wall: f64,
) -> i32 {
    if count == 0 {
        return 0;
    }
    batch_call(slots, slot_size, desc, count, [now, wall], |b| {
        device().decrypt_batch(b, now, wall);
        count as i32
    })
}

/// Runs timers and fills up to `count` slots with packets to send; returns
/// how many. Slots must hold an initiation (148 bytes).
#[no_mangle]
pub unsafe extern "C" fn wg_poll(
    slots: usize,
    slot_size: usize,
    desc: usize,
    count: usize,
    now: f64,
    wall: f64,
) -> i32 {
    if let Err(e) = finite(&[now, wall]) {
        return fail(e);
    }
    if slot_size < crate::messages::INITIATION_LEN {
        return fail(Error::BufferTooSmall);
    }
    if count == 0 {
        return 0;
    }
    batch_call(slots, slot_size, desc, count, [now, wall], |b| {
        device().poll(b, now, wall) as i32
    })
}

/// Monotonic ms of the next timer event (`Infinity` if none; `now` if
/// `wg_poll` has something to send already).
#[no_mangle]
pub extern "C" fn wg_next_deadline(now: f64) -> f64 {
    if !now.is_finite() {
        return now;
    }
    device().next_deadline(now)
}

/// Drains up to `cap` event records (EVENT_WORDS little-endian u32 each); returns how many.
#[no_mangle]
pub unsafe extern "C" fn wg_events(out: usize, cap: usize) -> i32 {
    let run = || -> Result<i32, Error> {
        let cap = cap.min(EVENT_CAPACITY);
        let bytes = cap
            .checked_mul(EVENT_WORDS * 4)
            .ok_or(Error::InvalidArgument)?;
        let out = output(out, bytes)?;
        let mut events = [[0u32; EVENT_WORDS]; EVENT_CAPACITY];
        let n = device().drain_events(&mut events[..cap]);
        for (i, e) in events[..n].iter().enumerate() {
            for (j, w) in e.iter().enumerate() {
                let at = (i * EVENT_WORDS + j) * 4;
                out[at..at + 4].copy_from_slice(&w.to_le_bytes());
            }
        }
        Ok(n as i32)
    };
    run().unwrap_or_else(fail)
}
