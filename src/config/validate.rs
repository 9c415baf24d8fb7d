//! Validation of the settings (everything but one registration's own keys).

use std::net::SocketAddr;
use std::time::Duration;

use url::Url;

use super::registration_rules::validate_registration;
use super::urls::parse_public_url;
use super::{
    Config, ConfigError, CookieSameSite, HttpSettings, Operations, RawConfig, Registration, invalid,
};
use crate::smart::net_policy::{Loopback, PrivateHost};

impl Config {
    pub(super) fn validate(raw: RawConfig, listen: SocketAddr) -> Result<Self, ConfigError> {
        let public_url = match raw.public_url {
            Some(s) => parse_public_url(&s)?,
            None => parse_public_url(&format!("http://{listen}"))?,
        };
        let cookie_same_site = raw.cookie_same_site.unwrap_or(CookieSameSite::Lax);
        if cookie_same_site == CookieSameSite::None && public_url.scheme() != "https" {
            return Err(invalid(
                "cookie_same_site",
                "\"none\" needs an https public_url (browsers drop SameSite=None cookies without Secure)",
            ));
        }
        let mut registrations: Vec<Registration> = Vec::new();
        let mut unmonitored = Vec::new();
        for (i, r) in raw.registration.into_iter().enumerate() {
            let monitor_off = r.monitor == Some(false);
            let reg = validate_registration(r, i)?;
            if monitor_off {
                unmonitored.push(reg.id.clone());
            }
            if registrations.iter().any(|o| o.id == reg.id) {
                return Err(invalid(
                    format!("registration[{i}].id"),
                    format!("duplicate id {:?}", reg.id),
                ));
            }
            registrations.push(reg);
        }
        let secs = |v: Option<u64>, key: &str, default: u64| match v {
            Some(0) => Err(invalid(key, "must be greater than 0")),
            Some(n) => Ok(Duration::from_secs(n)),
            None => Ok(Duration::from_secs(default)),
        };
        let positive = |v: Option<u64>, key: &str, default: u64| match v {
            Some(0) => Err(invalid(key, "must be greater than 0")),
            Some(n) => Ok(n),
            None => Ok(default),
        };
        let config = Config {
            public_url,
            cookie_same_site,
            session_idle: secs(raw.session_idle_minutes, "session_idle_minutes", 60)? * 60,
            discovery_cache: secs(raw.discovery_cache_seconds, "discovery_cache_seconds", 300)?,
            http: HttpSettings {
                ca_pem: match &raw.http_ca_file {
                    Some(path) => Some(std::fs::read(path).map_err(|e| {
                        invalid(
                            "http_ca_file",
                            format!("cannot read {}: {e}", path.display()),
                        )
                    })?),
                    None => None,
                },
                connect_timeout: secs(
                    raw.http_connect_timeout_seconds,
                    "http_connect_timeout_seconds",
                    5,
                )?,
                timeout: secs(raw.http_timeout_seconds, "http_timeout_seconds", 15)?,
                max_body_bytes: raw.http_max_body_bytes.unwrap_or(1024 * 1024),
            },
            after_token_deadline: secs(
                raw.after_token_deadline_seconds,
                "after_token_deadline_seconds",
                30,
            )?,
            adhoc_launch: raw.adhoc_launch.unwrap_or(true),
            never_returned_after: secs(
                raw.never_returned_after_seconds,
                "never_returned_after_seconds",
                300,
            )?,
            waiting_page_after: Duration::from_secs(2),
            // A public interface gets no unauthenticated practice EHR unless asked for.
            practice_ehr: raw.practice_ehr.unwrap_or(listen.ip().is_loopback()),
            launch_rate_limit_per_minute: raw.launch_rate_limit_per_minute.unwrap_or(60),
            frame_ancestors: validate_frame_ancestors(raw.frame_ancestors.unwrap_or_default())?,
            allow_private_networks: raw.allow_private_networks.unwrap_or(false),
            allow_private_hosts: validate_private_hosts(
                raw.allow_private_hosts.unwrap_or_default(),
            )?,
            loopback: Loopback::Standard,
            session_store: validate_session_store(raw.session_store)?,
            sealing_key_env: validate_env_name(raw.sealing_key_env, "sealing_key_env")?,
            allow_unregistered_iss: raw.allow_unregistered_iss.unwrap_or(false),
            metrics: raw.metrics.unwrap_or(false),
            metrics_listen: validate_metrics_listen(raw.metrics_listen, raw.metrics, listen)?,
            admin_token_env: validate_env_name(raw.admin_token_env, "admin_token_env")?,
            operations: Operations {
                store_connect_timeout: Duration::from_millis(positive(
                    raw.store_connect_timeout_ms,
                    "store_connect_timeout_ms",
                    1000,
                )?),
                store_command_timeout: Duration::from_millis(positive(
                    raw.store_command_timeout_ms,
                    "store_command_timeout_ms",
                    1000,
                )?),
                memory_store_max_bytes: positive(
                    raw.memory_store_max_mb,
                    "memory_store_max_mb",
                    256,
                )? << 20,
                store_waiting_max_bytes: raw.store_waiting_max_mb.unwrap_or(32) << 20,
                shutdown_grace: secs(raw.shutdown_grace_seconds, "shutdown_grace_seconds", 30)?,
                header_read_timeout: secs(
                    raw.header_read_timeout_seconds,
                    "header_read_timeout_seconds",
                    30,
                )?,
                max_connections: positive(
                    raw.max_connections.map(|n| n as u64),
                    "max_connections",
                    1024,
                )? as usize,
            },
            unregistered_client_id: raw
                .unregistered_client_id
                .unwrap_or_else(|| "smart-launch-doctor".into()),
            registrations,
            monitor: crate::monitor::MonitorConfig::from_raw(raw.monitor, unmonitored)?,
        };
        let config = config.with_practice();
        config
            .monitor
            .check_ids(config.registrations.iter().map(|r| r.id.as_str()))?;
        Ok(config)
    }
}

/// `memory` (or absent) or a `redis://` / `rediss://` URL.
fn validate_env_name(v: Option<String>, key: &str) -> Result<Option<String>, ConfigError> {
    match v {
        Some(name)
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            Err(invalid(
                key,
                format!("{name:?} is not an environment variable name"),
            ))
        }
        other => Ok(other),
    }
}

fn validate_metrics_listen(
    v: Option<String>,
    metrics: Option<bool>,
    listen: SocketAddr,
) -> Result<Option<SocketAddr>, ConfigError> {
    let Some(text) = v else { return Ok(None) };
    let addr: SocketAddr = text.parse().map_err(|_| {
        invalid(
            "metrics_listen",
            format!("{text:?} is not an address such as \"127.0.0.1:9464\""),
        )
    })?;
    if metrics != Some(true) {
        return Err(invalid("metrics_listen", "needs metrics = true"));
    }
    if addr == listen {
        return Err(invalid(
            "metrics_listen",
            "must differ from the main listen address",
        ));
    }
    Ok(Some(addr))
}

fn validate_session_store(v: Option<String>) -> Result<Option<String>, ConfigError> {
    match v.as_deref() {
        None | Some("memory") => Ok(None),
        Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => {
            Url::parse(url)
                .map_err(|e| invalid("session_store", format!("{url:?} is not a URL: {e}")))?;
            Ok(Some(url.to_string()))
        }
        Some(url) if url.starts_with("sqlite://") && url.len() > "sqlite://".len() => {
            Ok(Some(url.to_string()))
        }
        Some(other) => Err(invalid(
            "session_store",
            format!("{other:?} is not \"memory\", a redis:// URL or sqlite://PATH"),
        )),
    }
}

/// Each entry must be an origin (`https://ehr.example`), so it can go into the CSP as is.
fn validate_frame_ancestors(list: Vec<String>) -> Result<Vec<String>, ConfigError> {
    for (i, o) in list.iter().enumerate() {
        let ok = Url::parse(o).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host().is_some()
                && u.path() == "/"
                && !o.ends_with('/')
        });
        if !ok {
            return Err(invalid(
                format!("frame_ancestors[{i}]"),
                format!("{o:?} is not an origin like https://ehr.example"),
            ));
        }
    }
    Ok(list)
}

fn validate_private_hosts(list: Vec<String>) -> Result<Vec<PrivateHost>, ConfigError> {
    list.iter()
        .enumerate()
        .map(|(i, h)| {
            PrivateHost::parse(h).map_err(|why| invalid(format!("allow_private_hosts[{i}]"), why))
        })
        .collect()
}
