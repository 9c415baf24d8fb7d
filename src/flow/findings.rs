//! The findings a launch's record opens with that follow from discovery and the registration
//! alone (discovery's own warnings, the registration against what discovery lists), remembered
//! per discovery document: every launch of a registration between two discovery fetches would
//! work them out again (parsing the capabilities, scopes and methods; a twentieth of a
//! `/launch`).

use std::sync::{Arc, Mutex};

use crate::config::AuthMethod;
use crate::diagnosis::{Diagnosis, classify};
use crate::smart::LaunchKind;
use crate::smart::discovery::Discovered;

/// Documents × registrations remembered; beyond, the oldest is forgotten.
const KEPT: usize = 64;

/// What the findings depend on: the document (the very one, held here so that its address is
/// not reused while it is remembered), the client authentication method, the launch kind and
/// the scope asked for.
struct Entry {
    discovered: Arc<Discovered>,
    auth: AuthMethod,
    kind: LaunchKind,
    scope: Box<str>,
    findings: Arc<[Diagnosis]>,
}

/// The memo (one per [`Core`](crate::state::Core)).
#[derive(Default)]
pub struct OpeningFindings(Mutex<Vec<Entry>>);

impl OpeningFindings {
    /// `classify::discovery_warnings` and `classify::registration_vs_discovery` of these, as
    /// worked out the first time.
    pub fn of(
        &self,
        d: &Arc<Discovered>,
        auth: AuthMethod,
        kind: LaunchKind,
        scope: &str,
    ) -> Vec<Diagnosis> {
        let same = |e: &Entry| {
            Arc::ptr_eq(&e.discovered, d) && e.auth == auth && e.kind == kind && &*e.scope == scope
        };
        let known = self
            .0
            .lock()
            .ok()
            .and_then(|m| m.iter().rev().find(|e| same(e)).map(|e| e.findings.clone()));
        if let Some(findings) = known {
            return findings.to_vec();
        }
        let mut findings = classify::discovery_warnings(d);
        findings.extend(classify::registration_vs_discovery(d, auth, kind, scope));
        if let Ok(mut m) = self.0.lock()
            && !m.iter().any(same)
        {
            if m.len() >= KEPT {
                m.remove(0);
            }
            m.push(Entry {
                discovered: d.clone(),
                auth,
                kind,
                scope: scope.into(),
                findings: findings.as_slice().into(),
            });
        }
        findings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discovered(methods: &[&str]) -> Arc<Discovered> {
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "iss": "https://ehr.example/fhir",
                "source": "well_known",
                "authorization_endpoint": "https://ehr.example/authorize",
                "token_endpoint": "https://ehr.example/token",
                "token_endpoint_auth_methods_supported": methods,
                "code_challenge_methods_supported": ["S256"],
                "capabilities": ["launch-ehr", "client-public", "client-confidential-symmetric"],
            }))
            .unwrap(),
        )
    }

    #[test]
    fn the_same_document_gives_the_same_findings_and_another_document_its_own() {
        let memo = OpeningFindings::default();
        let scope = "launch openid fhirUser patient/*.read";
        let basic = discovered(&["client_secret_basic"]);
        let fresh = |d: &Arc<Discovered>, auth| {
            let mut f = classify::discovery_warnings(d);
            f.extend(classify::registration_vs_discovery(
                d,
                auth,
                LaunchKind::Ehr,
                scope,
            ));
            f
        };
        let jwt = AuthMethod::PrivateKeyJwt;
        let first = memo.of(&basic, jwt, LaunchKind::Ehr, scope);
        assert_eq!(first, fresh(&basic, jwt));
        assert!(
            first
                .iter()
                .any(|d| d.id() == id!("discovery.auth_method_unsupported")),
            "{first:?}"
        );
        assert_eq!(memo.of(&basic, jwt, LaunchKind::Ehr, scope), first);
        // Another method, and a new document (fetched again: it now lists the method), are
        // worked out afresh.
        let basic_auth = AuthMethod::ClientSecretBasic;
        assert_eq!(
            memo.of(&basic, basic_auth, LaunchKind::Ehr, scope),
            fresh(&basic, basic_auth)
        );
        let both = discovered(&["client_secret_basic", "private_key_jwt"]);
        let again = memo.of(&both, jwt, LaunchKind::Ehr, scope);
        assert_eq!(again, fresh(&both, jwt));
        assert_ne!(again, first);
    }

    #[test]
    fn it_remembers_a_bounded_number() {
        let memo = OpeningFindings::default();
        for _ in 0..(KEPT + 10) {
            memo.of(
                &discovered(&[]),
                AuthMethod::None,
                LaunchKind::Ehr,
                "openid",
            );
        }
        assert_eq!(memo.0.lock().unwrap().len(), KEPT);
    }
}
