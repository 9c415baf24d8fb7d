//! SMART `capabilities` compared with what a registration needs for one launch: its client type,
//! the launch, OpenID Connect, the context it asks for, offline access and the scope syntax.
//! Pure functions.

use super::Diagnosis;
use crate::config::AuthMethod;
use crate::smart::LaunchKind;

/// The capabilities a launch of this registration relies on, each with why.
pub fn needed(
    auth: AuthMethod,
    kind: LaunchKind,
    scope: &str,
) -> Vec<(&'static str, &'static str)> {
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let has = |s: &str| scopes.contains(&s);
    let launch = match kind {
        LaunchKind::Ehr => Some(("launch-ehr", "an EHR launch")),
        LaunchKind::Standalone => Some(("launch-standalone", "a standalone launch")),
        // SMART lists no capability for Backend Services; its client type still applies.
        LaunchKind::Backend => None,
    };
    let mut out: Vec<(&'static str, &'static str)> = Vec::with_capacity(12);
    out.extend(launch);
    out.push(match auth {
        AuthMethod::None => ("client-public", "auth = none"),
        AuthMethod::ClientSecretBasic => (
            "client-confidential-symmetric",
            "auth = client_secret_basic",
        ),
        AuthMethod::ClientSecretPost => {
            ("client-confidential-symmetric", "auth = client_secret_post")
        }
        AuthMethod::PrivateKeyJwt => ("client-confidential-asymmetric", "auth = private_key_jwt"),
    });
    let mut add = |cap: &'static str, why: &'static str| out.push((cap, why));
    if has("openid") {
        add("sso-openid-connect", "scope openid");
    }
    let patient_data = scopes.iter().any(|s| s.starts_with("patient/"));
    match kind {
        LaunchKind::Ehr if has("launch") && patient_data => {
            add("context-ehr-patient", "EHR launch with patient/ scopes")
        }
        LaunchKind::Standalone if has("launch/patient") => {
            add("context-standalone-patient", "scope launch/patient")
        }
        _ => {}
    }
    if kind == LaunchKind::Standalone && has("launch/encounter") {
        add("context-standalone-encounter", "scope launch/encounter");
    }
    if has("offline_access") {
        add("permission-offline", "scope offline_access");
    }
    if has("online_access") {
        add("permission-online", "scope online_access");
    }
    if patient_data {
        add("permission-patient", "patient/ scopes");
    }
    if scopes.iter().any(|s| s.starts_with("user/")) {
        add("permission-user", "user/ scopes");
    }
    let clinical = scopes.iter().filter(|s| {
        ["patient/", "user/", "system/"]
            .iter()
            .any(|p| s.starts_with(p))
    });
    let (mut v1, mut v2) = (false, false);
    for s in clinical {
        let perms = s
            .split('?')
            .next()
            .unwrap_or(s)
            .rsplit('.')
            .next()
            .unwrap_or("");
        if matches!(perms, "read" | "write" | "*") {
            v1 = true;
        } else {
            v2 = true;
        }
    }
    if v1 {
        add("permission-v1", "SMART v1 scopes (.read/.write)");
    }
    if v2 {
        add("permission-v2", "SMART v2 scopes (.rs, .cruds, …)");
    }
    out
}

/// `discovery.capability_missing` when discovery lists capabilities and lacks some this launch
/// needs. Client types and launch types have their own findings
/// (`discovery.auth_method_unsupported`, `discovery.launch_unsupported`) and are left to them.
pub fn missing(
    advertised: &[String],
    auth: AuthMethod,
    kind: LaunchKind,
    scope: &str,
) -> Option<Diagnosis> {
    if advertised.is_empty() {
        return None;
    }
    let absent: Vec<(&str, &str)> = needed(auth, kind, scope)
        .into_iter()
        .filter(|(c, _)| !c.starts_with("client-") && !c.starts_with("launch-"))
        .filter(|(c, _)| !advertised.iter().any(|a| a == c))
        .collect();
    if absent.is_empty() {
        return None;
    }
    let mut d = Diagnosis::new(
        id!("discovery.capability_missing"),
        format!(
            "The server's capabilities lack {} that this registration needs.",
            absent
                .iter()
                .map(|(c, _)| *c)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    for (cap, why) in &absent {
        d = d.with(&format!("Missing: {cap}"), format!("needed for {why}"));
    }
    Some(d.with("capabilities", advertised.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn missing_capabilities_are_named_with_why() {
        let d = missing(
            &caps(&["launch-ehr", "client-public"]),
            AuthMethod::None,
            LaunchKind::Ehr,
            "launch openid fhirUser patient/*.read offline_access",
        )
        .unwrap();
        assert_eq!(d.id(), "discovery.capability_missing");
        let labels: Vec<&str> = d.evidence.iter().map(|e| e.label.as_str()).collect();
        for cap in [
            "sso-openid-connect",
            "context-ehr-patient",
            "permission-offline",
            "permission-patient",
            "permission-v1",
        ] {
            assert!(
                labels.contains(&format!("Missing: {cap}").as_str()),
                "{labels:?}"
            );
        }
    }

    #[test]
    fn nothing_is_said_when_everything_is_listed_or_nothing_is() {
        let all = caps(&[
            "launch-standalone",
            "client-public",
            "context-standalone-patient",
            "permission-patient",
            "permission-v2",
        ]);
        let scope = "launch/patient patient/Observation.rs?category=laboratory";
        assert!(missing(&all, AuthMethod::None, LaunchKind::Standalone, scope).is_none());
        assert!(missing(&[], AuthMethod::None, LaunchKind::Standalone, scope).is_none());
    }
}
