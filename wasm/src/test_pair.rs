//! Test support: two devices wired back to back in memory, with an
//! injected clock, and the helpers that move packets through them.
//! The tests themselves live beside the code they test (device.rs,
//! send.rs, receive.rs, device_timers.rs).

use std::collections::VecDeque;

use crate::device::{Batch, Device, Event};
use crate::messages::{
    EventKind, Op, DESC_ENDPOINT, DESC_LEN, DESC_OFFSET, DESC_OP, DESC_PEER, DESC_REASON,
    DESC_WORDS, ENDPOINT_WORDS, EVENT_WORDS, HEADROOM,
};
use crate::peer::Endpoint;

pub const SLOT: usize = 2048;
pub const WALL: f64 = 1_700_000_000_000.0;
pub const A_IP: [u8; 4] = [10, 0, 0, 1];
pub const B_IP: [u8; 4] = [10, 0, 0, 2];

/// One packet after the device handled it: its descriptor and bytes.
#[derive(Clone, Debug)]
pub struct Packet {
    pub op: u32,
    pub reason: u32,
    pub peer: u32,
    pub bytes: Vec<u8>,
    pub endpoint: Endpoint,
}

pub fn endpoint(last: u8, port: u32) -> Endpoint {
    Endpoint([4, port, 0, u32::from_le_bytes([127, 0, 0, last]), 0, 0, 0])
}

pub fn ipv4(src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let total = 20 + payload.len();
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[8] = 64;
    p[9] = 17;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&dst);
    p[20..].copy_from_slice(payload);
    p
}

pub fn run(
    dev: &mut Device,
    inputs: &[(Vec<u8>, Endpoint)],
    offset: usize,
    f: impl FnOnce(&mut Device, &mut Batch),
) -> Vec<Packet> {
    let count = inputs.len();
    let mut slots = vec![0u8; SLOT * count];
    let mut desc = vec![0u32; DESC_WORDS * count];
    for (i, (bytes, ep)) in inputs.iter().enumerate() {
        slots[i * SLOT + offset..i * SLOT + offset + bytes.len()].copy_from_slice(bytes);
        let d = &mut desc[i * DESC_WORDS..(i + 1) * DESC_WORDS];
        d[DESC_OFFSET] = offset as u32;
        d[DESC_LEN] = bytes.len() as u32;
        d[DESC_ENDPOINT..DESC_ENDPOINT + ENDPOINT_WORDS].copy_from_slice(&ep.0);
    }
    let mut batch = Batch::new(&mut slots, SLOT, &mut desc, count).unwrap();
    f(dev, &mut batch);
    collect(&slots, &desc, count)
}

fn collect(slots: &[u8], desc: &[u32], n: usize) -> Vec<Packet> {
    (0..n)
        .map(|i| {
            let d = &desc[i * DESC_WORDS..(i + 1) * DESC_WORDS];
            let start = i * SLOT + d[DESC_OFFSET] as usize;
            let mut ep = [0u32; ENDPOINT_WORDS];
            ep.copy_from_slice(&d[DESC_ENDPOINT..DESC_ENDPOINT + ENDPOINT_WORDS]);
            Packet {
                op: d[DESC_OP],
                reason: d[DESC_REASON],
                peer: d[DESC_PEER],
                bytes: slots[start..start + d[DESC_LEN] as usize].to_vec(),
                endpoint: Endpoint(ep),
            }
        })
        .collect()
}

pub fn encrypt(dev: &mut Device, ip: &[u8], now: f64) -> Packet {
    let input = [(ip.to_vec(), Endpoint::default())];
    run(dev, &input, HEADROOM, |d, b| d.encrypt_batch(b, now)).remove(0)
}

pub fn decrypt(dev: &mut Device, msg: &[u8], from: Endpoint, now: f64) -> Packet {
    let input = [(msg.to_vec(), from)];
    run(dev, &input, 0, |d, b| d.decrypt_batch(b, now, WALL + now)).remove(0)
}

pub fn poll(dev: &mut Device, now: f64) -> Vec<Packet> {
    let count = 8;
    let mut slots = vec![0u8; SLOT * count];
    let mut desc = vec![0u32; DESC_WORDS * count];
    let n = {
        let mut batch = Batch::new(&mut slots, SLOT, &mut desc, count).unwrap();
        dev.poll(&mut batch, now, WALL + now)
    };
    collect(&slots, &desc, n)
}

pub fn events(dev: &mut Device) -> Vec<Event> {
    let mut out = [[0u32; EVENT_WORDS]; 64];
    let n = dev.drain_events(&mut out);
    out[..n].to_vec()
}

pub fn has_event(events: &[Event], kind: EventKind) -> bool {
    events.iter().any(|e| e[0] == kind as u32)
}

/// Device A (10.0.0.1, 127.0.0.1:1000) and B (10.0.0.2, 127.0.0.2:2000),
/// each with the other as its only peer (id 0).
pub struct Pair {
    pub a: Device,
    pub b: Device,
}

pub fn device(seed: u8, private: u8) -> Device {
    let mut d = Device::new();
    d.entropy(&[seed; 64]);
    d.set_private_key(&[private; 32]).unwrap();
    d
}

pub fn pair_with(psk_a: Option<[u8; 32]>, psk_b: Option<[u8; 32]>, keepalive: u32) -> Pair {
    let mut a = device(1, 0x11);
    let mut b = device(2, 0x22);
    let pa = a.public_key().unwrap();
    let pb = b.public_key().unwrap();
    assert_eq!(a.add_peer(pb, psk_a, keepalive), Ok(0));
    assert_eq!(b.add_peer(pa, psk_b, 0), Ok(0));
    a.add_allowed_ip(0, &B_IP, 32).unwrap();
    b.add_allowed_ip(0, &A_IP, 32).unwrap();
    a.set_endpoint(0, b_ep()).unwrap();
    b.set_endpoint(0, a_ep()).unwrap();
    Pair { a, b }
}

pub fn pair() -> Pair {
    pair_with(None, None, 0)
}

pub fn a_ep() -> Endpoint {
    endpoint(1, 1000)
}

pub fn b_ep() -> Endpoint {
    endpoint(2, 2000)
}

impl Pair {
    /// Moves every Network packet until both sides are quiet; returns
    /// what each side wrote to its TUN (A's, B's).
    pub fn pump(&mut self, first: Vec<(bool, Packet)>, now: f64) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let mut queue: VecDeque<(bool, Packet)> = first.into();
        let (mut tun_a, mut tun_b) = (Vec::new(), Vec::new());
        loop {
            while let Some((from_a, p)) = queue.pop_front() {
                if p.op != Op::Network as u32 {
                    continue;
                }
                let (dev, src) = if from_a {
                    (&mut self.b, a_ep())
                } else {
                    (&mut self.a, b_ep())
                };
                let out = decrypt(dev, &p.bytes, src, now);
                if out.op == Op::Tun as u32 {
                    if from_a { &mut tun_b } else { &mut tun_a }.push(out.bytes.clone());
                }
                queue.push_back((!from_a, out));
            }
            for p in poll(&mut self.a, now) {
                queue.push_back((true, p));
            }
            for p in poll(&mut self.b, now) {
                queue.push_back((false, p));
            }
            if queue.is_empty() {
                return (tun_a, tun_b);
            }
        }
    }

    /// A sends `payload` to B through the tunnel (a handshake first if needed).
    pub fn a_to_b(&mut self, payload: &[u8], now: f64) -> Vec<Vec<u8>> {
        let p = encrypt(&mut self.a, &ipv4(A_IP, B_IP, payload), now);
        self.pump(vec![(true, p)], now).1
    }

    pub fn b_to_a(&mut self, payload: &[u8], now: f64) -> Vec<Vec<u8>> {
        let p = encrypt(&mut self.b, &ipv4(B_IP, A_IP, payload), now);
        self.pump(vec![(false, p)], now).0
    }
}
