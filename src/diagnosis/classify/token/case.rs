//! What the rest of the case adds to a failed token exchange: the configured method, what
//! discovery advertises, what an earlier step proved about the client, the vendor's own words.

use super::*;

/// Oracle Health said `client=unknown`: it could not even tell which client this was.
pub(super) fn oracle_health_unknown_client(
    mut d: Diagnosis,
    c: &CernerError,
    ctx: &TokenContext<'_>,
) -> Diagnosis {
    let tenant = c
        .tenant
        .as_deref()
        .map(|t| format!(" in tenant {t}"))
        .unwrap_or_default();
    d.summary = format!(
        "The token endpoint rejected the client's credentials, and Oracle Health could not even identify the client (client=unknown){tenant}. The id and secret sent do not belong together in its records."
    );
    d.first_causes.insert(
        0,
        format!(
            "Oracle Health: a confidential app authenticates with its System Account id and that account's secret; client_id {:?} and the secret sent are not such a pair (an id and a secret from different accounts, or a rotated secret)",
            ctx.client_id
        ),
    );
    d.first_fixes.insert(
        0,
        "In Cerner Central, open the app's System Account; copy its id into client_id and a current secret into client_secret, both from that same account".into(),
    );
    if let Some(id) = &c.correlation_id {
        d.last_fixes.push(format!(
            "If it still fails, give Oracle Health support the correlation id {id}"
        ));
    }
    d
}

/// What this case adds to the refused-method and client-type findings.
pub(super) fn explain(d: Diagnosis, ctx: &TokenContext<'_>, raw: &str) -> Diagnosis {
    let configured = ctx.auth.as_str();
    let advertised = ctx.auth_methods_supported.iter().any(|m| m == configured);
    match d.id() {
        id if id == id!("token.auth_method_refused") => {
            let named = probe::names_other_method(ctx.auth, raw)
                .map(AuthMethod::as_str)
                .unwrap_or("client_secret_basic");
            let refused = if advertised {
                format!("{configured} (advertised in token_endpoint_auth_methods_supported)")
            } else {
                format!("{configured} (not advertised either)")
            };
            let mut d = d
                .with("Refused method", refused)
                .with("Method the server names", named)
                .with(
                    "token_endpoint_auth_methods_supported",
                    ctx.auth_methods_supported.join(", "),
                );
            d.summary = format!(
                "{} The server refuses {configured}{} and names {named}: only one method was sent, so this is not a mixed-methods error.",
                d.summary,
                if advertised {
                    ", which it advertises,"
                } else {
                    ""
                },
            );
            d.first_fixes.insert(0, format!("Use {named}"));
            d.with_first_cause(format!(
                "The server accepts {named} only{}",
                if advertised {
                    format!(" although discovery advertises {configured}")
                } else {
                    String::new()
                }
            ))
        }
        id if id == id!("token.client_type_mismatch") => {
            let d = d.with("Configured method", configured);
            match ctx.auth {
                AuthMethod::ClientSecretPost
                    if raw.to_ascii_lowercase().contains("authorization header") =>
                {
                    d.with_first_cause(
                        "The server wants a confidential client's id and secret in the Authorization header (client_secret_basic), not in the body",
                    )
                }
                AuthMethod::None if vendor_free(raw) => d.with_first_cause(
                    "The app is registered as confidential at the EHR but configured here as public: no secret was sent",
                ),
                _ => d,
            }
        }
        _ => d,
    }
}

pub(super) fn vendor_free(raw: &str) -> bool {
    serde_json::from_str::<Value>(raw)
        .ok()
        .and_then(|b| entra_code(&b))
        .is_none()
}

/// The ids after which the client-authentication self-check runs.
pub(super) fn is_client_auth_failure(id: Id) -> bool {
    [
        id!("token.unknown_client"),
        id!("token.bad_client_credentials"),
        id!("token.bad_auth_header"),
        id!("token.bad_client_assertion"),
        id!("token.auth_method_refused"),
        id!("token.client_type_mismatch"),
    ]
    .contains(&id)
}

/// The discovery finding that explains a credential failure when the configured method is not
/// one the server advertises (a Backend Services client whose server lists no
/// `private_key_jwt`): raised to lead the failure.
pub(super) fn unadvertised_method(
    ctx: &TokenContext<'_>,
    chosen: &ids::Chosen,
) -> Option<Diagnosis> {
    let methods = ctx.auth_methods_supported;
    let credential_failure = [
        id!("token.bad_client_credentials"),
        id!("token.bad_client_assertion"),
        id!("token.unknown_client"),
    ]
    .contains(&chosen.id);
    if !chosen.code_only
        || !credential_failure
        || ctx.auth == AuthMethod::None
        || methods.is_empty()
        || methods.iter().any(|m| m == ctx.auth.as_str())
    {
        return None;
    }
    let d = Diagnosis::new(
        id!("discovery.auth_method_unsupported"),
        format!(
            "The token endpoint rejected the client, and its discovery does not list {}, the method this registration uses: the server most likely does not accept that method.",
            ctx.auth.as_str()
        ),
    )
    .raised()
    .with("Configured method", ctx.auth.as_str())
    .with("token_endpoint_auth_methods_supported", methods.join(", "))
    .with_first_cause(format!(
        "The server does not support {} for this client; it lists only {}",
        ctx.auth.as_str(),
        methods.join(", ")
    ));
    Some(d)
}

/// What the rest of the case settles when the answer's words did not.
pub(super) fn in_case(mut d: Diagnosis, ctx: &TokenContext<'_>, chosen: &ids::Chosen) -> Diagnosis {
    if !chosen.code_only {
        return d;
    }
    match (ctx.auth, d.id()) {
        (AuthMethod::None, id) if id == id!("token.client_type_mismatch") => {
            d.summary.push_str(
                " No secret is configured, so none can be wrong; the authorization server had just accepted this client id at the authorize step, so it knows the client: it expects a confidential one.",
            );
            d.with(
                "Client id known to the server",
                "yes: the authorize step accepted it and issued a code",
            )
        }
        (AuthMethod::None, id) if id == id!("token.unknown_client") => {
            d.summary.push_str(
                " No secret is configured, so none can be wrong: the server does not know this client id, or has it registered as confidential (nothing here proved which).",
            );
            d.first_causes.splice(
                0..0,
                [
                    format!(
                        "client_id {:?} is not registered at this server (another environment or tenant, or a typo)",
                        ctx.client_id
                    ),
                    "The app is registered as confidential at the EHR but configured here as public: no secret was sent".to_string(),
                ],
            );
            d
        }
        _ => d,
    }
}
