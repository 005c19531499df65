//! Client addresses: networks (CIDRs) and the rule for who the client is behind trusted proxies.
use std::net::IpAddr;

use anyhow::{Context, bail};
use http::HeaderMap;

/// An address block, `addr/prefix` (a single address is a full-length prefix).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Parses `203.0.113.7`, `10.0.0.0/8`, `::1` or `2001:db8::/32`.
    ///
    /// # Errors
    /// A malformed address or a prefix longer than the address.
    pub fn parse(s: &str) -> anyhow::Result<Self> {
        let s = s.trim();
        let (addr, prefix) = s.split_once('/').map_or((s, None), |(a, p)| (a, Some(p)));
        let addr: IpAddr = addr.parse().with_context(|| format!("`{s}` is not an IP address or CIDR"))?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().with_context(|| format!("`{s}` has a malformed prefix length"))?,
        };
        if prefix > max {
            bail!("`{s}` has a prefix longer than {max} bits");
        }
        Ok(Self { addr, prefix })
    }

    /// Parses a comma-separated list; empty items are skipped.
    ///
    /// # Errors
    /// As [`IpNet::parse`], for the first bad item.
    pub fn parse_list(s: &str) -> anyhow::Result<Vec<Self>> {
        s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(Self::parse).collect()
    }

    /// Whether `ip` is in this block (an IPv4-mapped IPv6 address counts as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The client's address: the TCP `peer`, unless the peer is one of the `trusted` proxies; then the
/// right-most address of `X-Forwarded-For` (all such headers, in order) that is not a trusted
/// proxy. Entries left of the first untrusted one are the client's own claims and are never used.
/// When every entry is trusted, or an entry is not an address, the last trusted hop seen is the
/// client.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for entry in entries.into_iter().rev() {
        let Some(ip) = parse_forwarded(entry) else { return client };
        client = ip;
        if !is_trusted(ip) {
            return ip;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, maybe with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<std::net::SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            if let Ok(v) = v.parse() {
                h.append("x-forwarded-for", v);
            }
        }
        h
    }

    #[test]
    fn networks_parse_and_match_by_prefix() {
        let nets = IpNet::parse_list("10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,").unwrap_or_default();
        assert_eq!(nets.len(), 3);
        assert!(nets[0].contains(ip("10.200.3.4")));
        assert!(!nets[0].contains(ip("11.0.0.1")));
        assert!(nets[1].contains(ip("192.0.2.7")) && !nets[1].contains(ip("192.0.2.8")));
        assert!(nets[1].contains(ip("::ffff:192.0.2.7")), "IPv4-mapped");
        assert!(nets[2].contains(ip("2001:db8:1::9")) && !nets[2].contains(ip("2001:db9::1")));
        assert!(IpNet::parse("0.0.0.0/0").is_ok_and(|n| n.contains(ip("8.8.8.8"))));
        for bad in ["10.0.0.0/33", "nope", "10.0.0.0/x", "::/129"] {
            assert!(IpNet::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_client_is_the_peer_unless_the_peer_is_a_trusted_proxy() {
        let trusted = IpNet::parse_list("127.0.0.1,10.0.0.0/8").unwrap_or_default();
        let h = forwarded(&["6.6.6.6, 203.0.113.9"]);
        assert_eq!(client_ip(ip("198.51.100.1"), &h, &trusted), ip("198.51.100.1"), "untrusted peer");
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &[]), ip("127.0.0.1"), "no proxies trusted");
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &trusted), ip("203.0.113.9"), "right-most");
        let chain = forwarded(&["6.6.6.6", "203.0.113.9, 10.1.1.1"]);
        assert_eq!(client_ip(ip("127.0.0.1"), &chain, &trusted), ip("203.0.113.9"), "skips trusted hops");
        assert_eq!(client_ip(ip("127.0.0.1"), &HeaderMap::new(), &trusted), ip("127.0.0.1"), "no header");
        let garbage = forwarded(&["junk, 10.1.1.1"]);
        assert_eq!(client_ip(ip("127.0.0.1"), &garbage, &trusted), ip("10.1.1.1"), "last trusted hop");
        let ported = forwarded(&["[2001:db8::5]:443"]);
        assert_eq!(client_ip(ip("127.0.0.1"), &ported, &trusted), ip("2001:db8::5"));
    }
}
