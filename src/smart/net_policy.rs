//! The outbound address policy (SSRF): which addresses a request may reach. One policy for
//! every outbound request; [`super::http::Outbound`] applies it to each URL after parsing it
//! once the WHATWG way (`url::Url`), so the host checked is the host connected to. Literal
//! addresses are judged here; names are judged on their DNS answers by the guarded resolver.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// Which loopback addresses count as private. `Standard` everywhere but in tests.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Loopback {
    /// All of 127.0.0.0/8 and ::1 are private.
    #[default]
    Standard,
    /// A test seam, never read from configuration: 127.0.0.1 counts as a public address (the
    /// tests' EHRs listen there) while the rest of 127.0.0.0/8 stays private, so refused
    /// targets can be served on 127.0.0.2 without leaving this machine.
    TestPublic127001,
}

/// One entry of `allow_private_hosts`: a host name, an address or a network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrivateHost {
    Name(String),
    Net(IpNet),
}

impl PrivateHost {
    /// Parses `10.0.0.0/8`, `10.0.0.5`, `fd00::/8`, `[fd00::1]` or a host name (`ehr.local`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bare = s.trim_start_matches('[').trim_end_matches(']');
        if let Ok(net) = bare.parse::<IpNet>() {
            return Ok(PrivateHost::Net(net));
        }
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(PrivateHost::Net(IpNet::from(ip)));
        }
        let name = s.trim_end_matches('.').to_ascii_lowercase();
        let valid = !name.is_empty()
            && name
                .split('.')
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if valid {
            Ok(PrivateHost::Name(name))
        } else {
            Err(format!(
                "{s:?} is neither a host name, an IP address nor a network (e.g. ehr.local, 10.0.0.5, 10.0.0.0/8)"
            ))
        }
    }
}

/// The policy: what `allow_private_networks`, `allow_private_hosts` and the test seam say.
#[derive(Clone, Debug, Default)]
pub struct NetPolicy {
    /// `allow_private_networks = true`: the operator allows every address.
    pub allow_all: bool,
    /// `allow_private_hosts`: names and networks allowed although private.
    pub allowed: Vec<PrivateHost>,
    pub loopback: Loopback,
}

/// A refused address: the one written and, when it embeds an IPv4 address (mapped, NAT64,
/// 6to4), that address too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused(pub IpAddr);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match embedded_v4(self.0) {
            Some(v4) => write!(f, "{v4} (inside {})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

impl NetPolicy {
    /// `Some` when a request to `ip` must not be made.
    pub fn refuses(&self, ip: IpAddr) -> Option<Refused> {
        if self.allow_all || !is_private(ip) {
            return None;
        }
        let meant = embedded_v4(ip).map(IpAddr::V4).unwrap_or(ip);
        if self.loopback == Loopback::TestPublic127001
            && meant == IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1))
        {
            return None;
        }
        let allowed = self.allowed.iter().any(|h| match h {
            PrivateHost::Net(n) => n.contains(&ip) || n.contains(&meant),
            PrivateHost::Name(_) => false,
        });
        (!allowed).then_some(Refused(ip))
    }

    /// Whether the host name `name` (lower case, no trailing dot) is deliberately allowed.
    pub fn allows_name(&self, name: &str) -> bool {
        self.allow_all
            || self
                .allowed
                .iter()
                .any(|h| matches!(h, PrivateHost::Name(n) if n == name))
    }
}

/// The IPv4 address an IPv6 form carries: IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96)
/// and 6to4 (2002::/16).
pub fn embedded_v4(ip: IpAddr) -> Option<Ipv4Addr> {
    let IpAddr::V6(v6) = ip else { return None };
    let s = v6.segments();
    let o = v6.octets();
    let tail = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    if let Some(v4) = v6.to_ipv4_mapped() {
        Some(v4)
    } else if (s[..6] == [0; 6] && v6 > Ipv6Addr::from_bits(1))
        || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
    {
        // IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::a.b.c.d
        Some(tail)
    } else if s[0] == 0x2002 {
        Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]))
    } else {
        None
    }
}

/// Addresses nobody on the internet should make us reach: loopback, RFC 1918, link-local,
/// 0.0.0.0/8, CGNAT, broadcast, multicast, reserved, documentation and benchmark ranges; in
/// IPv6 also unique-local, site-local, Teredo, the discard prefix, and every form embedding an
/// IPv4 address (mapped, compatible, NAT64, 6to4) judged by that address (NAT64's local-use
/// 64:ff9b:1::/48 and the compatible ::/96 always).
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let compatible = s[..6] == [0; 6];
            if compatible || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) {
                // ::/96 (unspecified, loopback, IPv4-compatible) is deprecated or local.
                return true;
            }
            if let Some(v4) = embedded_v4(ip) {
                return private_v4(v4);
            }
            v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique-local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10
                || (s[0] == 0x2001 && s[1] == 0) // Teredo 2001::/32
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation 2001:db8::/32
                || s[..4] == [0x0100, 0, 0, 0] // discard-only 100::/64
        }
    }
}

fn private_v4(v4: Ipv4Addr) -> bool {
    let o = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || o[0] == 0 // 0.0.0.0/8, "this network"
        || o[0] >= 240 // reserved 240.0.0.0/4
        || (o[0] == 100 && (64..128).contains(&o[1])) // CGNAT 100.64.0.0/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] == 18 || o[1] == 19)) // benchmarking 198.18.0.0/15
}

/// Appends `suffix` (starting with `/`) to the path of `base` as written, for URLs derived
/// from a document's URL (`{issuer}/.well-known/openid-configuration`): a fragment is dropped
/// and a query kept after the new path, so neither can swallow what is appended.
pub fn append_path(base: &str, suffix: &str) -> String {
    let base = base.split('#').next().unwrap_or_default();
    let (path, query) = match base.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (base, None),
    };
    let mut out = format!("{}{suffix}", path.trim_end_matches('/'));
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests;
