//! IP address ranges in CIDR notation (RFC 4632 §3.1, RFC 4291 §2.3) for iPAddress SAN rules.

use std::net::IpAddr;

/// A network: its address with every host bit zero, and the prefix length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpRange {
    network: Vec<u8>,
    prefix: u32,
}

impl IpRange {
    /// Parses `ADDRESS/PREFIX`. Host bits must be zero (`10.0.0.1/8` is refused as a likely
    /// mistake), and an IPv4 range never covers an IPv6 address or the reverse.
    pub fn parse(s: &str) -> Option<IpRange> {
        let (address, prefix) = s.trim().split_once('/')?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() > 3 {
            return None;
        }
        let prefix: u32 = prefix.parse().ok()?;
        let network = match address.parse::<IpAddr>().ok()? {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        };
        let bits = u32::try_from(network.len()).ok()? * 8;
        if prefix > bits {
            return None;
        }
        let range = IpRange { network, prefix };
        // With host bits set, the written address is not inside its own network.
        let host_bits_zero = range.covers(&range.network);
        host_bits_zero.then_some(range)
    }

    /// Whether `octets` (4 or 16 of them) is inside the range.
    pub fn covers(&self, octets: &[u8]) -> bool {
        octets.len() == self.network.len() && self.masked(octets) == self.network
    }

    /// Whether `address` is inside the range.
    pub fn contains(&self, address: IpAddr) -> bool {
        match address {
            IpAddr::V4(a) => self.covers(&a.octets()),
            IpAddr::V6(a) => self.covers(&a.octets()),
        }
    }

    fn masked(&self, octets: &[u8]) -> Vec<u8> {
        octets
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let start = u32::try_from(i).unwrap_or(u32::MAX).saturating_mul(8);
                let keep = self.prefix.saturating_sub(start).min(8);
                // keep is 0..=8; a u16 shift avoids overflow at 8.
                let mask = (0xff00u16 >> keep) as u8;
                b & mask
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn covers(range: &str, address: &str) -> bool {
        let octets = match address.parse::<IpAddr>().unwrap() {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        };
        IpRange::parse(range).unwrap().covers(&octets)
    }

    #[test]
    fn ranges_cover_their_addresses_only() {
        assert!(covers("10.0.0.0/8", "10.255.1.2"));
        assert!(!covers("10.0.0.0/8", "11.0.0.1"));
        assert!(covers("192.168.4.0/22", "192.168.7.255"));
        assert!(!covers("192.168.4.0/22", "192.168.8.0"));
        assert!(covers("192.0.2.7/32", "192.0.2.7"));
        assert!(!covers("192.0.2.7/32", "192.0.2.8"));
        assert!(covers("0.0.0.0/0", "203.0.113.9"));
        assert!(covers("2001:db8::/32", "2001:db8:1::1"));
        assert!(!covers("2001:db8::/32", "2001:db9::1"));
        // No family crossing, not even through v4-mapped addresses.
        assert!(!covers("0.0.0.0/0", "::ffff:10.0.0.1"));
        assert!(!covers("::/0", "10.0.0.1"));
    }

    #[test]
    fn malformed_ranges_refused() {
        for bad in [
            "10.0.0.0",
            "10.0.0.0/",
            "10.0.0.0/33",
            "10.0.0.1/8",
            "10.0.0.0/+8",
            "10.0.0.0/-1",
            "2001:db8::/129",
            "2001:db8::1/32",
            "example/8",
            "/8",
        ] {
            assert_eq!(IpRange::parse(bad), None, "{bad:?}");
        }
    }
}
