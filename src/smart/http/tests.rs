use super::*;

fn chain(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

#[test]
fn lookup_failures_are_dns() {
    let c = chain(&[
        "error sending request",
        "client error (Connect)",
        "dns error",
        "failed to lookup address information: Name or service not known",
    ]);
    assert!(matches!(
        classify_chain(false, true, &c, 5),
        NetError::Dns(_)
    ));
}

#[test]
fn certificate_failures_are_tls() {
    let c = chain(&[
        "error sending request",
        "client error (Connect)",
        "invalid peer certificate: UnknownIssuer",
    ]);
    assert!(matches!(
        classify_chain(false, true, &c, 5),
        NetError::Tls(_)
    ));
}

#[test]
fn refused_connections_are_connect_and_timeouts_win() {
    let c = chain(&[
        "error sending request",
        "tcp connect error",
        "Connection refused (os error 111)",
    ]);
    assert_eq!(
        classify_chain(false, true, &c, 5),
        NetError::Connect("Connection refused (os error 111)".into())
    );
    assert_eq!(classify_chain(true, true, &c, 5), NetError::Timeout(5));
}

/// A proxy in the environment must not carry the guarded client past its check: with the
/// proxy honoured the resolver would only see the proxy's address.
#[tokio::test]
async fn guarded_client_ignores_proxy_environment() {
    let settings = crate::config::HttpSettings {
        ca_pem: None,
        connect_timeout: std::time::Duration::from_secs(2),
        timeout: std::time::Duration::from_secs(3),
        max_body_bytes: 1024,
    };
    // nextest runs each test in its own process: the variables touch no other test. They are
    // removed again right after the client is built (reqwest reads them at build time).
    let proxy = "http://93.184.216.34:3128";
    let names = [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
    ];
    // SAFETY: no other thread of this test reads the environment meanwhile.
    unsafe {
        for n in names {
            std::env::set_var(n, proxy);
        }
        std::env::remove_var("NO_PROXY");
        std::env::remove_var("no_proxy");
    }
    let guarded = Outbound::new(settings, NetPolicy::default());
    // SAFETY: as above.
    unsafe {
        for n in names {
            std::env::remove_var(n);
        }
    }
    let guarded = guarded.unwrap();
    let rec = Recorder::default();
    let err = guarded
        .get(
            "http://localhost:9/fhir/metadata",
            "application/json",
            crate::smart::transcript::ExchangeStep::Discovery,
            &rec,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, NetError::PrivateTarget { .. }),
        "a private target behind a proxy setting: {err:?}"
    );
}

fn quick() -> HttpSettings {
    crate::config::HttpSettings {
        ca_pem: None,
        connect_timeout: std::time::Duration::from_secs(2),
        timeout: std::time::Duration::from_secs(3),
        max_body_bytes: 1024,
    }
}

/// The host is read the way reqwest connects (WHATWG), whatever the URL's spelling; the error
/// keeps the URL as written and names the address it means. Under the test seam (127.0.0.2
/// private, connections bound to lo), so even a broken check sends nothing off this machine.
#[tokio::test]
async fn every_spelling_of_a_private_address_is_refused_before_connecting() {
    let seam = NetPolicy {
        loopback: crate::smart::net_policy::Loopback::TestPublic127001,
        ..NetPolicy::default()
    };
    let out = Outbound::new(quick(), seam).unwrap();
    for (url, meant) in [
        ("http://2130706434:9/latest/meta-data/", "127.0.0.2"),
        ("http://0x7f000002:9/", "127.0.0.2"),
        ("http://0177.0.0.2:9/", "127.0.0.2"),
        ("http://127.2:9/", "127.0.0.2"),
        ("http://127.0.0.2.:9/", "127.0.0.2"),
        ("http://0:9/", "0.0.0.0"),
        (
            "http://[::ffff:127.0.0.2]:9/",
            "127.0.0.2 (inside ::ffff:127.0.0.2)",
        ),
        ("http://[::127.0.0.2]:9/", "127.0.0.2 (inside ::7f00:2)"),
        (
            "http://[64:ff9b::7f00:2]:9/",
            "127.0.0.2 (inside 64:ff9b::7f00:2)",
        ),
        (
            "http://[2002:7f00:2::]:9/",
            "127.0.0.2 (inside 2002:7f00:2::)",
        ),
        ("http://[::1]:9/#fragment", "::1"),
        ("http://LOCALHOST.:9/", "localhost (loopback)"),
    ] {
        let rec = Recorder::default();
        let err = out
            .get(
                url,
                "application/json",
                crate::smart::transcript::ExchangeStep::Style,
                &rec,
            )
            .await;
        assert_eq!(
            err.unwrap_err(),
            NetError::PrivateTarget {
                url: url.into(),
                address: meant.into()
            },
            "{url}"
        );
        let x = rec.exchanges();
        assert_eq!(x.len(), 1, "the refusal is in the transcript");
        assert_eq!(x[0].url, url);
    }
}

/// A handle trusting a registered base's origin reaches that origin (here: a refused
/// connection, not a refusal) and nothing else private.
#[tokio::test]
async fn a_trusted_origin_is_that_origin_only() {
    let out = Outbound::new(quick(), NetPolicy::default())
        .unwrap()
        .trusting("http://127.0.0.1:9/fhir");
    let rec = Recorder::default();
    let own = out.get(
        "http://127.0.0.1:9/fhir/metadata",
        "*/*",
        crate::smart::transcript::ExchangeStep::Discovery,
        &rec,
    );
    assert!(matches!(own.await, Err(NetError::Connect(_))));
    for other in [
        "http://127.0.0.1:10/",
        "https://127.0.0.1:9/",
        "http://127.0.0.2:9/",
    ] {
        let got = out
            .get(
                other,
                "*/*",
                crate::smart::transcript::ExchangeStep::Discovery,
                &rec,
            )
            .await;
        assert!(
            matches!(got, Err(NetError::PrivateTarget { .. })),
            "{other}: {got:?}"
        );
    }
}
