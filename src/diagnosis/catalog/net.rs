//! The catalogue: network.

use super::common::{ASK_APP_ADMIN, ASK_DNS, ASK_NETWORK, REDIRECTS, SSRF};
use super::{Actor, Entry};
use crate::diagnosis::Severity::Error;

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        id: "net.dns",
        severity: Error,
        title: "The server's host name could not be resolved",
        plain: ASK_DNS,
        acts: Actor::AppAdmin,
        causes: &[
            "Typo in the host name of iss or of a discovered endpoint",
            "An internal host name that does not resolve where this app runs",
        ],
        fixes: &[
            "Check the host name",
            "Run the app on a network where the EHR's host name resolves",
        ],
        rules: &[],
    },
    Entry {
        id: "net.connect",
        severity: Error,
        title: "The connection to the server was refused or unreachable",
        plain: ASK_NETWORK,
        acts: Actor::AppAdmin,
        causes: &[
            "Server down",
            "Wrong port",
            "A firewall or VPN is required to reach it",
        ],
        fixes: &["Check the URL and the network path"],
        rules: &[],
    },
    Entry {
        id: "net.tls",
        severity: Error,
        title: "The TLS handshake or certificate check failed",
        plain: ASK_NETWORK,
        acts: Actor::AppAdmin,
        causes: &[
            "Self-signed or private-CA test server",
            "TLS-intercepting proxy",
            "Certificate issued for another host name",
        ],
        fixes: &[
            "Trust the server's CA explicitly in the configuration; certificate checks are never disabled",
        ],
        rules: &[],
    },
    Entry {
        id: "net.timeout",
        severity: Error,
        title: "The server did not answer in time",
        plain: ASK_NETWORK,
        acts: Actor::AppAdmin,
        causes: &[
            "Server overloaded",
            "Blackholed route or firewall dropping packets",
        ],
        fixes: &[
            "Retry",
            "Raise http_timeout_seconds",
            "Check the network path",
        ],
        rules: &[],
    },
    Entry {
        id: "net.redirected",
        severity: Error,
        title: "The server answered with a redirect, which is not followed",
        plain: ASK_APP_ADMIN,
        acts: Actor::AppAdmin,
        causes: &["The configured iss or a discovered endpoint is outdated (moved, or http→https)"],
        fixes: &["Use the Location shown as the configured URL"],
        rules: &[REDIRECTS],
    },
    Entry {
        id: "net.too_large",
        severity: Error,
        title: "The answer was larger than the size limit",
        plain: ASK_APP_ADMIN,
        acts: Actor::AppAdmin,
        causes: &["Wrong URL: it points at a file or a portal page"],
        fixes: &["Check the URL"],
        rules: &[],
    },
    Entry {
        id: "net.incomplete",
        severity: Error,
        title: "The answer broke off before it was complete",
        plain: ASK_NETWORK,
        acts: Actor::AppAdmin,
        causes: &[
            "Server or proxy closed the connection mid-answer (crash, restart, idle timeout)",
            "Content-Length larger than the body sent",
        ],
        fixes: &["Retry", "Check the server's and proxy's logs at that time"],
        rules: &[],
    },
    Entry {
        id: "net.private_target",
        severity: Error,
        title: "The URL points inside the network and was not fetched",
        plain: ASK_APP_ADMIN,
        acts: Actor::AppAdmin,
        causes: &[
            "A FHIR base typed into the ad-hoc form (not registered) that resolves to a loopback, private or link-local address",
            "A discovered endpoint of such a server pointing inside the network",
            "A URL an EHR's answers name (smart_style_url, issuer, jwks_uri, introspection_endpoint) on another host that is private, perhaps spelled as a number (http://2852039166/ is 169.254.169.254)",
            "An on-premises EHR whose authorization server is on another private host than its FHIR base",
        ],
        fixes: &[
            "Register the FHIR base in the configuration (its own origin is then trusted)",
            "For an on-premises EHR's other hosts: allow_private_hosts = [\"auth.ehr.local\", \"10.0.0.0/8\"]",
            "For a local test server: allow_private_networks = true",
        ],
        rules: &[SSRF],
    },
];
