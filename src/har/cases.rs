//! The SMART exchanges of a HAR grouped into launches: each authorization request starts one,
//! its callback is found by `state` (else by redirect_uri), the token request by the code (else
//! by redirect_uri and client_id), refreshes and FHIR reads by the tokens the launch got (else
//! by the FHIR base), discovery and the EHR's launch URL by the FHIR base. A token request that
//! belongs to no authorization request (client_credentials, or a HAR that starts later) is a
//! case of its own.

use serde_json::Value;

use super::Har;
use super::exchanges::{Exchange, Kind, base, discovery_base};

/// One launch rebuilt: its exchanges in order, each as (step name, exchange).
#[derive(Clone, Debug, Default)]
pub struct Case {
    pub steps: Vec<(&'static str, Exchange)>,
    /// The FHIR base: `aud`, else the launch URL's `iss`, else discovery's base.
    pub fhir_base: Option<String>,
    pub client_id: Option<String>,
    access_tokens: Vec<String>,
    refresh_tokens: Vec<String>,
}

impl Case {
    pub fn step(&self, name: &str) -> Option<&Exchange> {
        self.steps.iter().find(|(n, _)| *n == name).map(|(_, x)| x)
    }

    pub fn steps_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Exchange> + 'a {
        self.steps
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, x)| x)
    }

    fn push(&mut self, step: &'static str, x: &Exchange) {
        self.steps.push((step, x.clone()));
        self.steps.sort_by_key(|(_, x)| x.index);
    }

    fn learn_tokens(&mut self, har: &Har, x: &Exchange) {
        let body = har.log.entries[x.index].response.body();
        if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&body) {
            let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
            self.access_tokens.extend(s("access_token"));
            self.refresh_tokens.extend(s("refresh_token"));
        }
    }
}

fn bearer(har: &Har, x: &Exchange) -> Option<String> {
    let r = &har.log.entries[x.index].request;
    r.header("authorization")
        .filter(|a| a.len() > 7 && a[..7].eq_ignore_ascii_case("bearer "))
        .map(|a| a[7..].trim().to_string())
        .or_else(|| x.param("access_token").map(str::to_string))
}

fn under(url: &str, fhir_base: &str) -> bool {
    let b = fhir_base.trim_end_matches('/');
    url.starts_with(b) && url[b.len()..].starts_with(['/', '?']) || url == b
}

/// Groups `exchanges` (from [`super::exchanges::find`]) into cases, in the order they started.
pub fn group(har: &Har, exchanges: &[Exchange]) -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    let mut later = Vec::new();
    for x in exchanges {
        match x.kind {
            Kind::Authorize => {
                let aud = x.param("aud").map(str::to_string);
                cases.push(Case {
                    fhir_base: aud,
                    client_id: x.param("client_id").map(str::to_string),
                    ..Case::default()
                });
                if let Some(c) = cases.last_mut() {
                    c.push("authorize", x);
                }
            }
            _ => later.push(x),
        }
    }
    for x in later {
        let e = &har.log.entries[x.index];
        match x.kind {
            Kind::Callback => {
                let url_base = base(&e.request.url);
                let state = x.param("state");
                let found = state
                    .and_then(|s| {
                        latest_at(&cases, x.index, |c| {
                            c.step("callback").is_none()
                                && c.step("authorize")
                                    .is_some_and(|a| a.param("state") == Some(s))
                        })
                    })
                    .or_else(|| {
                        latest_at(&cases, x.index, |c| {
                            c.step("callback").is_none()
                                && c.step("authorize").is_some_and(|a| {
                                    a.param("redirect_uri").map(base).as_deref()
                                        == Some(url_base.as_str())
                                })
                        })
                    });
                match found {
                    Some(i) => cases[i].push("callback", x),
                    None => cases.push(Case {
                        steps: vec![("callback", x.clone())],
                        ..Case::default()
                    }),
                }
            }
            Kind::Token => attach_token(har, &mut cases, x),
            _ => {}
        }
    }
    // Then what hangs off the launches: reads, introspection, discovery, the launch URL.
    for x in exchanges {
        let e = &har.log.entries[x.index];
        match x.kind {
            Kind::Fhir | Kind::Introspection => {
                let token = if x.kind == Kind::Fhir {
                    bearer(har, x)
                } else {
                    x.param("token").map(str::to_string)
                };
                let step = if x.kind == Kind::Fhir {
                    "fhir"
                } else {
                    "introspection"
                };
                let by_token = token.as_deref().and_then(|t| {
                    latest_at(&cases, usize::MAX, |c| {
                        c.access_tokens.iter().any(|a| a == t)
                    })
                });
                let found = by_token.or_else(|| {
                    latest_at(&cases, x.index, |c| {
                        c.fhir_base
                            .as_deref()
                            .is_some_and(|b| under(&e.request.url, b))
                    })
                });
                if let Some(i) = found {
                    cases[i].push(step, x);
                }
            }
            Kind::Discovery => {
                let Some(b) = discovery_base(&e.request.url) else {
                    continue;
                };
                // Every launch of that FHIR base that starts after it, up to the next discovery.
                for c in cases.iter_mut().filter(|c| {
                    c.fhir_base.as_deref().map(|f| f.trim_end_matches('/'))
                        == Some(b.trim_end_matches('/'))
                        && c.step("authorize").is_some_and(|a| a.index > x.index)
                }) {
                    c.push("discovery", x);
                }
            }
            Kind::Launch => {
                let iss = x
                    .param("iss")
                    .unwrap_or("")
                    .trim_end_matches('/')
                    .to_string();
                // The first launch after it of that FHIR base without a launch URL yet.
                if let Some(c) = cases.iter_mut().find(|c| {
                    c.step("launch").is_none()
                        && c.step("authorize").is_some_and(|a| {
                            a.index > x.index
                                && (a.param("aud").map(|s| s.trim_end_matches('/'))
                                    == Some(iss.as_str())
                                    || a.param("aud").is_none())
                        })
                }) {
                    c.push("launch", x);
                    if c.fhir_base.is_none() {
                        c.fhir_base = Some(iss.clone());
                    }
                }
            }
            _ => {}
        }
    }
    // Keep one discovery per case: the latest before its authorization request.
    for c in &mut cases {
        let authorize = c.step("authorize").map(|a| a.index).unwrap_or(usize::MAX);
        let keep = c
            .steps_named("discovery")
            .filter(|d| d.index < authorize)
            .map(|d| d.index)
            .max();
        c.steps
            .retain(|(n, x)| *n != "discovery" || Some(x.index) == keep);
    }
    cases
}

/// The position of the case that started last before `index` among those `pred` accepts.
fn latest_at(cases: &[Case], index: usize, pred: impl Fn(&Case) -> bool) -> Option<usize> {
    cases
        .iter()
        .enumerate()
        .filter(|(_, c)| c.steps.first().is_some_and(|(_, x)| x.index < index))
        .filter(|(_, c)| pred(c))
        .max_by_key(|(_, c)| c.steps.first().map(|(_, x)| x.index))
        .map(|(i, _)| i)
}

fn attach_token(har: &Har, cases: &mut Vec<Case>, x: &Exchange) {
    let grant = x.param("grant_type").unwrap_or("");
    let client_id = client_id_of(har, x);
    let found = match grant {
        "authorization_code" => {
            let code = x.param("code");
            let redirect = x.param("redirect_uri").map(base);
            code.and_then(|code| {
                latest_at(cases, x.index, |c| {
                    c.step("token").is_none()
                        && c.step("callback")
                            .is_some_and(|cb| cb.param("code") == Some(code))
                })
            })
            .or_else(|| {
                latest_at(cases, x.index, |c| {
                    c.step("token").is_none()
                        && c.step("authorize").is_some_and(|a| {
                            a.param("redirect_uri").map(base) == redirect
                                && (client_id.is_none()
                                    || a.param("client_id") == client_id.as_deref())
                        })
                })
            })
        }
        "refresh_token" => {
            let rt = x.param("refresh_token");
            rt.and_then(|rt| {
                latest_at(cases, x.index, |c| c.refresh_tokens.iter().any(|r| r == rt))
            })
        }
        _ => None,
    };
    let step = match grant {
        "refresh_token" => "refresh",
        "client_credentials" => "backend_token",
        _ => "token",
    };
    match found {
        Some(i) => {
            cases[i].push(step, x);
            cases[i].learn_tokens(har, x);
        }
        None => {
            let mut c = Case {
                client_id,
                ..Case::default()
            };
            c.push(step, x);
            c.learn_tokens(har, x);
            cases.push(c);
        }
    }
}

/// The client id a token request names: the form's, the Basic credential's, or the client
/// assertion's `iss`.
pub fn client_id_of(har: &Har, x: &Exchange) -> Option<String> {
    if let Some(id) = x.param("client_id") {
        return Some(id.to_string());
    }
    let r = &har.log.entries[x.index].request;
    if let Some((id, _)) = r.header("authorization").and_then(basic_pair) {
        return Some(id);
    }
    x.param("client_assertion")
        .and_then(crate::smart::id_token::decode_unverified)
        .and_then(|(_, claims)| {
            claims
                .get("iss")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
}

/// A Basic credential decoded: (id, secret) as they are after base64, before form-decoding.
pub fn basic_raw(authorization: &str) -> Option<(String, String)> {
    use base64::Engine as _;
    let (scheme, cred) = authorization.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cred.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// A Basic credential decoded and form-decoded (RFC 6749 §2.3.1).
pub fn basic_pair(authorization: &str) -> Option<(String, String)> {
    let (id, secret) = basic_raw(authorization)?;
    let dec = |s: &str| {
        url::form_urlencoded::parse(format!("a={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((dec(&id), dec(&secret)))
}
