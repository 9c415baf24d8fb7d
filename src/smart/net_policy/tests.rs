use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn host_of(url: &str) -> IpAddr {
    match url::Url::parse(url).unwrap().host().unwrap() {
        url::Host::Ipv4(v4) => v4.into(),
        url::Host::Ipv6(v6) => v6.into(),
        url::Host::Domain(d) => panic!("{url} parsed as the name {d}"),
    }
}

#[test]
fn every_private_range_is_refused() {
    for a in [
        "127.0.0.1",
        "127.255.255.254",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "0.1.2.3",
        "100.64.0.1",
        "100.127.255.255",
        "255.255.255.255",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "192.0.0.1",
        "192.0.2.1",
        "198.51.100.1",
        "203.0.113.1",
        "198.18.0.1",
        "::",
        "::1",
        "fe80::1",
        "febf::1",
        "fc00::1",
        "fd00::1",
        "fec0::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::127.0.0.1",
        "::8.8.8.8",
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::8.8.8.8",
        "2002:7f00:1::",
        "2002:a9fe:a9fe::1",
        "2001::1",
        "2001:0:4136:e378::1",
        "2001:db8::1",
        "100::1",
    ] {
        assert!(is_private(ip(a)), "{a} must be private");
        assert!(NetPolicy::default().refuses(ip(a)).is_some(), "{a}");
    }
}

#[test]
fn public_addresses_and_their_embedded_forms_pass() {
    for a in [
        "93.184.216.34",
        "8.8.8.8",
        "100.128.0.1",
        "172.32.0.1",
        "2606:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
    ] {
        assert!(!is_private(ip(a)), "{a} is public");
    }
}

#[test]
fn the_address_meant_is_the_embedded_ipv4_one() {
    let shown = |a: &str| NetPolicy::default().refuses(ip(a)).unwrap().to_string();
    assert_eq!(shown("169.254.169.254"), "169.254.169.254");
    assert_eq!(
        shown("::ffff:127.0.0.2"),
        "127.0.0.2 (inside ::ffff:127.0.0.2)"
    );
    assert_eq!(
        shown("64:ff9b::7f00:2"),
        "127.0.0.2 (inside 64:ff9b::7f00:2)"
    );
    assert_eq!(shown("2002:7f00:2::"), "127.0.0.2 (inside 2002:7f00:2::)");
    assert_eq!(shown("::127.0.0.2"), "127.0.0.2 (inside ::7f00:2)");
}

/// The forms reqwest connects to (WHATWG parsing), each read as the address it means.
#[test]
fn whatwg_host_forms_parse_to_the_address_they_mean() {
    for (url, meant) in [
        ("http://2852039166/latest/meta-data/", "169.254.169.254"),
        ("http://2130706433/", "127.0.0.1"),
        ("http://0x7f000001/", "127.0.0.1"),
        ("http://0177.0.0.1/", "127.0.0.1"),
        ("http://127.1/", "127.0.0.1"),
        ("http://127.0.0.1./", "127.0.0.1"),
        ("http://0/", "0.0.0.0"),
        ("http://0x7f.1/", "127.0.0.1"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1"),
        ("http://[::127.0.0.1]/", "::127.0.0.1"),
        ("http://[64:ff9b::7f00:1]/", "64:ff9b::7f00:1"),
        ("http://[2002:7f00:1::]/", "2002:7f00:1::"),
    ] {
        let got = host_of(url);
        assert_eq!(got, ip(meant), "{url}");
        assert!(NetPolicy::default().refuses(got).is_some(), "{url}");
    }
}

#[test]
fn the_test_seam_makes_only_127_0_0_1_public() {
    let p = NetPolicy {
        loopback: Loopback::TestPublic127001,
        ..NetPolicy::default()
    };
    assert!(p.refuses(ip("127.0.0.1")).is_none());
    for a in ["127.0.0.2", "::ffff:127.0.0.2", "::1", "10.0.0.1"] {
        assert!(p.refuses(ip(a)).is_some(), "{a}");
    }
}

#[test]
fn allowed_private_hosts_and_allow_all_let_private_addresses_through() {
    let p = NetPolicy {
        allowed: vec![
            PrivateHost::parse("10.0.0.0/8").unwrap(),
            PrivateHost::parse("[fd00::5]").unwrap(),
            PrivateHost::parse("EHR.local.").unwrap(),
        ],
        ..NetPolicy::default()
    };
    assert!(p.refuses(ip("10.9.8.7")).is_none());
    assert!(p.refuses(ip("::ffff:10.9.8.7")).is_none());
    assert!(p.refuses(ip("fd00::5")).is_none());
    assert!(p.refuses(ip("192.168.0.1")).is_some());
    assert!(p.allows_name("ehr.local"));
    assert!(!p.allows_name("other.local"));
    let all = NetPolicy {
        allow_all: true,
        ..NetPolicy::default()
    };
    assert!(all.refuses(ip("127.0.0.1")).is_none());
    assert!(PrivateHost::parse("not a host").is_err());
}

#[test]
fn a_fragment_or_query_cannot_swallow_an_appended_path() {
    let wk = "/.well-known/openid-configuration";
    assert_eq!(
        append_path("http://h/latest/meta-data#", wk),
        "http://h/latest/meta-data/.well-known/openid-configuration"
    );
    assert_eq!(
        append_path("https://h/fhir/?a=b#x", wk),
        "https://h/fhir/.well-known/openid-configuration?a=b"
    );
    assert_eq!(
        append_path("https://h/", wk),
        "https://h/.well-known/openid-configuration"
    );
}
