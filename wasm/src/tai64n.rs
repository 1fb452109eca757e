//! TAI64N timestamps (whitepaper §5.4.2) from the wall time the host passes.

/// Seconds label of TAI64 for the Unix epoch: 2^62, plus the 10 s TAI−UTC offset of 1970.
const TAI64_EPOCH: u64 = (1 << 62) + 10;

/// Encodes Unix wall time in milliseconds as TAI64N: 8 bytes big-endian seconds
/// (2^62 + 10 + Unix seconds) and 4 bytes big-endian nanoseconds. Negative or
/// non-finite times count as the epoch; the resolution is that of the input.
pub fn tai64n(wall_ms: f64) -> [u8; 12] {
    let ms = if wall_ms.is_finite() && wall_ms > 0.0 {
        wall_ms
    } else {
        0.0
    };
    let secs = (ms / 1000.0).floor();
    let mut nanos = ((ms - secs * 1000.0) * 1_000_000.0).floor();
    if nanos > 999_999_999.0 {
        nanos = 999_999_999.0;
    }
    let mut out = [0u8; 12];
    out[..8].copy_from_slice(&TAI64_EPOCH.wrapping_add(secs as u64).to_be_bytes());
    out[8..].copy_from_slice(&(nanos as u32).to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_is_two_to_the_62_plus_ten() {
        assert_eq!(tai64n(0.0), [0x40, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0]);
        assert_eq!(tai64n(-5.0), tai64n(0.0));
        assert_eq!(tai64n(f64::NAN), tai64n(0.0));
    }

    #[test]
    fn seconds_and_nanoseconds_are_big_endian() {
        // 2021-01-01T00:00:00.250Z = 1609459200250 ms
        let t = tai64n(1_609_459_200_250.0);
        let secs = u64::from_be_bytes(t[..8].try_into().unwrap());
        let nanos = u32::from_be_bytes(t[8..].try_into().unwrap());
        assert_eq!(secs, (1 << 62) + 10 + 1_609_459_200);
        assert_eq!(nanos, 250_000_000);
    }

    #[test]
    fn later_times_compare_greater_bytewise() {
        let mut prev = tai64n(1_700_000_000_000.0);
        for step in 1..3000 {
            let now = tai64n(1_700_000_000_000.0 + step as f64 * 0.5 + 0.5);
            assert!(now >= prev);
            prev = now;
        }
        assert!(tai64n(1_700_000_001_000.0) > tai64n(1_700_000_000_999.0));
    }
}
