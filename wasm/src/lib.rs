//! wgcore: the WireGuard protocol as a WebAssembly module (see wasm/README.md).

pub mod abi;
pub mod aead;
pub mod allowed_ips;
pub mod blake2s;
pub mod chacha20;
pub mod cookie;
pub mod ct;
pub mod device;
pub mod device_timers;
pub mod ip;
pub mod kdf;
pub mod messages;
pub mod noise;
pub mod peer;
pub mod poly1305;
pub mod receive;
pub mod replay;
pub mod rng;
pub mod selftest;
pub mod send;
pub mod tai64n;
#[cfg(test)]
mod test_pair;
#[cfg(test)]
mod test_rand;
pub mod timers;
pub mod x25519;
