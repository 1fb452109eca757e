//! The few fields of an IP header the device reads: the version, the
//! addresses, and the lengths that tell a packet from its padding.
//! IPv4 is RFC 791 §3.1, IPv6 RFC 8200 §3; offsets are in bytes.

use core::ops::Range;

use crate::messages::Reason;

/// The version is the high nibble of the first byte in both families.
const VERSION_BYTE: usize = 0;

/// An IPv4 header without options.
const V4_MIN_HEADER_LEN: usize = 20;
/// Its low nibble: the header length (IHL) in 32-bit words.
const V4_IHL_BYTE: usize = 0;
/// Header and payload, in bytes.
const V4_TOTAL_LENGTH: Range<usize> = 2..4;
const V4_SOURCE: Range<usize> = 12..16;
const V4_DESTINATION: Range<usize> = 16..20;

/// The fixed IPv6 header; extension headers count as payload.
const V6_HEADER_LEN: usize = 40;
/// Everything after the fixed header, in bytes.
const V6_PAYLOAD_LENGTH: Range<usize> = 4..6;
const V6_SOURCE: Range<usize> = 8..24;
const V6_DESTINATION: Range<usize> = 24..40;

/// An IPv4 or IPv6 address taken from a packet header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpAddr {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl IpAddr {
    pub fn bytes(&self) -> &[u8] {
        match self {
            IpAddr::V4(a) => a,
            IpAddr::V6(a) => a,
        }
    }
}

fn version(packet: &[u8]) -> Option<u8> {
    packet.get(VERSION_BYTE).map(|b| b >> 4)
}

fn be16(packet: &[u8], field: Range<usize>) -> usize {
    u16::from_be_bytes([packet[field.start], packet[field.start + 1]]) as usize
}

fn v4(packet: &[u8], field: Range<usize>) -> IpAddr {
    let mut a = [0u8; 4];
    a.copy_from_slice(&packet[field]);
    IpAddr::V4(a)
}

fn v6(packet: &[u8], field: Range<usize>) -> IpAddr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&packet[field]);
    IpAddr::V6(a)
}

/// The destination of an outbound IP packet, if it is one.
pub fn destination(packet: &[u8]) -> Option<IpAddr> {
    match version(packet)? {
        4 if packet.len() >= V4_MIN_HEADER_LEN => Some(v4(packet, V4_DESTINATION)),
        6 if packet.len() >= V6_HEADER_LEN => Some(v6(packet, V6_DESTINATION)),
        _ => None,
    }
}

/// The source and the header's total length of a decrypted inner packet
/// (padding beyond it is trimmed).
pub fn source(packet: &[u8]) -> Result<(IpAddr, usize), Reason> {
    match version(packet) {
        Some(4) => {
            if packet.len() < V4_MIN_HEADER_LEN {
                return Err(Reason::BadIpLength);
            }
            let total = be16(packet, V4_TOTAL_LENGTH);
            let header = ((packet[V4_IHL_BYTE] & 0x0F) as usize) * 4;
            if total < V4_MIN_HEADER_LEN
                || header < V4_MIN_HEADER_LEN
                || header > total
                || total > packet.len()
            {
                return Err(Reason::BadIpLength);
            }
            Ok((v4(packet, V4_SOURCE), total))
        }
        Some(6) => {
            if packet.len() < V6_HEADER_LEN {
                return Err(Reason::BadIpLength);
            }
            let total = V6_HEADER_LEN + be16(packet, V6_PAYLOAD_LENGTH);
            if total > packet.len() {
                return Err(Reason::BadIpLength);
            }
            Ok((v6(packet, V6_SOURCE), total))
        }
        _ => Err(Reason::NotIp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4 packet of `total` bytes as its header says, `extra` bytes of
    /// padding behind it.
    fn ipv4(ihl: u8, total: u16, extra: usize) -> Vec<u8> {
        let mut p = vec![0u8; total as usize + extra];
        p[0] = 0x40 | ihl;
        p[2..4].copy_from_slice(&total.to_be_bytes());
        p[12..16].copy_from_slice(&[10, 0, 0, 1]);
        p[16..20].copy_from_slice(&[10, 0, 0, 2]);
        p
    }

    fn ipv6(payload: u16, extra: usize) -> Vec<u8> {
        let mut p = vec![0u8; 40 + payload as usize + extra];
        p[0] = 0x60;
        p[4..6].copy_from_slice(&payload.to_be_bytes());
        p[8] = 0xfd;
        p[23] = 1;
        p[24] = 0xfd;
        p[39] = 2;
        p
    }

    fn v6_addr(last: u8) -> IpAddr {
        let mut a = [0u8; 16];
        a[0] = 0xfd;
        a[15] = last;
        IpAddr::V6(a)
    }

    #[test]
    fn the_destination_is_read_from_either_family() {
        assert_eq!(
            destination(&ipv4(5, 20, 0)),
            Some(IpAddr::V4([10, 0, 0, 2]))
        );
        assert_eq!(destination(&ipv6(0, 0)), Some(v6_addr(2)));
        assert_eq!(v6_addr(2).bytes().len(), 16);
    }

    #[test]
    fn no_destination_without_a_whole_header_or_a_known_version() {
        assert_eq!(destination(&[]), None);
        assert_eq!(destination(&[0x45, 0, 0]), None);
        assert_eq!(destination(&ipv6(0, 0)[..39]), None);
        let mut v5 = ipv4(5, 20, 0);
        v5[0] = 0x55;
        assert_eq!(destination(&v5), None);
    }

    #[test]
    fn the_source_comes_with_the_length_the_header_gives() {
        assert_eq!(source(&ipv4(5, 23, 9)), Ok((IpAddr::V4([10, 0, 0, 1]), 23)));
        assert_eq!(source(&ipv4(6, 24, 0)), Ok((IpAddr::V4([10, 0, 0, 1]), 24)));
        assert_eq!(source(&ipv6(3, 13)), Ok((v6_addr(1), 43)));
    }

    #[test]
    fn inconsistent_lengths_are_bad_ip_lengths() {
        let bad = Err(Reason::BadIpLength);
        assert_eq!(source(&ipv4(5, 20, 0)[..19]), bad, "short header");
        assert_eq!(source(&ipv4(5, 19, 1)), bad, "total below a header");
        assert_eq!(source(&ipv4(4, 20, 0)), bad, "IHL below 5");
        assert_eq!(source(&ipv4(6, 20, 4)), bad, "header beyond total");
        let mut long = ipv4(5, 20, 0);
        long[2..4].copy_from_slice(&100u16.to_be_bytes());
        assert_eq!(source(&long), bad, "total beyond the packet");
        assert_eq!(source(&ipv6(0, 0)[..39]), bad, "short v6 header");
        let mut v6_long = ipv6(8, 0);
        v6_long[4..6].copy_from_slice(&9u16.to_be_bytes());
        assert_eq!(source(&v6_long), bad, "payload beyond the packet");
    }

    #[test]
    fn anything_else_is_not_ip() {
        assert_eq!(source(&[]), Err(Reason::NotIp));
        assert_eq!(source(&[0x00; 40]), Err(Reason::NotIp));
        assert_eq!(source(&[0x55; 40]), Err(Reason::NotIp));
    }
}
