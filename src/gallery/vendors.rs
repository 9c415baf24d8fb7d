//! Gallery entries modelled on real vendors' backend (client_credentials) answers, and the
//! active-probe faults: bodies as the vendors answer them (sources in the comments).

use serde_json::json;

use super::{Entry, PRACTICE_SECRET, confidential, entry};
use crate::config::AuthMethod;
use crate::practice::Faults;

/// A Backend Services entry authenticating with a client secret (HTTP Basic).
fn symmetric_backend(e: Entry) -> Entry {
    Entry {
        backend: true,
        ..confidential(e, AuthMethod::ClientSecretBasic, PRACTICE_SECRET)
    }
}

/// The vendor entries, in gallery order.
pub(super) fn entries() -> Vec<Entry> {
    vec![
        // Oracle Health (Cerner) system accounts authenticate with the account id and its
        // secret over HTTP Basic (managed in Cerner Central); their access tokens live 570 s
        // and the answer spells token_type "Bearer".
        symmetric_backend(entry(
            "oracle-system-account",
            "Oracle Health system account (client secret, Basic)",
            Some(id!("backend.symmetric_client_auth")),
            "client_credentials with a system account's secret over HTTP Basic, as Oracle Health runs it: the token works and the FHIR read succeeds; the run warns that SMART Backend Services requires private_key_jwt, and that 570 s is longer than the 300 s SMART recommends.",
            Faults {
                client_credentials_patch: vec![
                    ("token_type".into(), Some(json!("Bearer"))),
                    ("expires_in".into(), Some(json!(570))),
                ],
                ..Faults::default()
            },
        )),
        // MEDITECH Greenfield: valid credentials for a grant the client is not enabled for
        // answer 400 {"error":"unauthorized_client"}; a wrong secret answers 401 invalid_client.
        symmetric_backend(entry(
            "meditech-grant-not-enabled",
            "MEDITECH-like server: client_credentials not enabled",
            Some(id!("token.client_credentials_not_enabled")),
            "The client's secret is right, but the server has not enabled the client_credentials grant for it and answers 400 unauthorized_client: the client was authenticated, the grant is not enabled.",
            Faults {
                client_credentials_refusal: Some((
                    400,
                    json!({"error": "unauthorized_client"}).to_string(),
                )),
                ..Faults::default()
            },
        )),
        Entry {
            signs_in: true,
            active_probes: true,
            ..entry(
                "probe-aud-accepted",
                "Active probe: a foreign aud gets a code",
                Some(id!("probe.aud_not_enforced")),
                "With active_probes on, after the launch the app asks the authorize endpoint for a code with aud https://rogue-resource-server.invalid/fhir (labelled as a deliberate probe). This server issues one: tokens meant for a rogue resource server could be obtained.",
                Faults {
                    accept_foreign_aud: true,
                    ..Faults::default()
                },
            )
        },
        Entry {
            signs_in: true,
            active_probes: true,
            ..entry(
                "probe-code-replay",
                "Active probe: the same code exchanged twice",
                Some(id!("probe.code_replay_accepted")),
                "With active_probes on, right after the launch's exchange the app sends the same code again (labelled as a deliberate probe). This server issues a second token instead of refusing the used code.",
                Faults {
                    accept_code_replay: true,
                    ..Faults::default()
                },
            )
        },
    ]
}
