//! The `[monitor]` section: how often each registration is probed, with how much jitter, how
//! many probes at once, which registrations, where state changes are posted, how many runs
//! each registration keeps.

use std::time::Duration;

use serde::Deserialize;

use super::clock::Clock;
use crate::config::ConfigError;

/// `[monitor]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawMonitor {
    every: Option<String>,
    jitter: Option<String>,
    concurrency: Option<usize>,
    registrations: Option<Vec<String>>,
    webhook_url_env: Option<String>,
    history: Option<usize>,
}

/// The validated `[monitor]` section.
#[derive(Clone, Debug)]
pub struct MonitorConfig {
    /// Whether `serve` runs the scheduler (the section is present).
    pub enabled: bool,
    /// `every`: one run per registration and period (default 15m).
    pub every: Duration,
    /// `jitter`: each run starts up to this long after its period begins (default: a tenth of
    /// `every`, at most 60s; less than `every`).
    pub jitter: Duration,
    /// `concurrency`: probes running at once (default 4).
    pub concurrency: usize,
    /// `registrations`: only these ids (default: all but those with `monitor = false`).
    pub only: Option<Vec<String>>,
    /// Ids of registrations with `monitor = false`.
    pub excluded: Vec<String>,
    /// `webhook_url_env`: the variable holding the URL posted on every state change.
    pub webhook_url_env: Option<String>,
    /// `history`: runs kept per registration (default 100, at most 1000).
    pub history: usize,
    /// Test seam, never read from the configuration file: the scheduler's clock.
    #[doc(hidden)]
    pub clock: Clock,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            enabled: false,
            every: DEFAULT_EVERY,
            jitter: Duration::from_secs(60),
            concurrency: 4,
            only: None,
            excluded: Vec::new(),
            webhook_url_env: None,
            history: 100,
            clock: Clock::System,
        }
    }
}

const DEFAULT_EVERY: Duration = Duration::from_secs(15 * 60);
/// The shortest period accepted: a probe makes several requests to the EHR.
const MIN_EVERY: Duration = Duration::from_secs(5);
const MAX_HISTORY: usize = 1000;

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: format!("monitor.{key}"),
        message: message.into(),
    }
}

fn duration(v: &str, key: &str) -> Result<Duration, ConfigError> {
    humantime::parse_duration(v).map_err(|e| {
        invalid(
            key,
            format!("{v:?} is not a duration such as \"15m\" or \"30s\": {e}"),
        )
    })
}

impl MonitorConfig {
    /// Validates `raw` (`None`: no `[monitor]` section); `excluded` are the ids with `monitor = false`.
    pub fn from_raw(raw: Option<RawMonitor>, excluded: Vec<String>) -> Result<Self, ConfigError> {
        let Some(raw) = raw else {
            return Ok(MonitorConfig {
                excluded,
                ..MonitorConfig::default()
            });
        };
        let every = match &raw.every {
            Some(v) => duration(v, "every")?,
            None => DEFAULT_EVERY,
        };
        if every < MIN_EVERY {
            return Err(invalid("every", "must be at least 5s"));
        }
        let jitter = match &raw.jitter {
            Some(v) => duration(v, "jitter")?,
            None => (every / 10).min(Duration::from_secs(60)),
        };
        if jitter >= every {
            return Err(invalid("jitter", "must be shorter than every"));
        }
        let concurrency = match raw.concurrency {
            Some(0) => return Err(invalid("concurrency", "must be greater than 0")),
            Some(n) => n,
            None => 4,
        };
        let history = match raw.history {
            Some(0) => return Err(invalid("history", "must be greater than 0")),
            Some(n) if n > MAX_HISTORY => {
                return Err(invalid("history", format!("at most {MAX_HISTORY}")));
            }
            Some(n) => n,
            None => 100,
        };
        if let Some(name) = &raw.webhook_url_env
            && (name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            return Err(invalid(
                "webhook_url_env",
                format!("{name:?} is not an environment variable name"),
            ));
        }
        Ok(MonitorConfig {
            enabled: true,
            every,
            jitter,
            concurrency,
            only: raw.registrations,
            excluded,
            webhook_url_env: raw.webhook_url_env,
            history,
            clock: Clock::System,
        })
    }

    /// Every id in `registrations` names a registration.
    pub fn check_ids<'a>(
        &self,
        known: impl Iterator<Item = &'a str> + Clone,
    ) -> Result<(), ConfigError> {
        for id in self.only.iter().flatten() {
            if !known.clone().any(|k| k == id) {
                return Err(invalid(
                    "registrations",
                    format!("no registration has the id {id:?}"),
                ));
            }
        }
        Ok(())
    }

    /// Whether registration `id` is probed on the schedule.
    pub fn watches(&self, id: &str) -> bool {
        match &self.only {
            Some(ids) => ids.iter().any(|i| i == id),
            None => !self.excluded.iter().any(|i| i == id),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn load(monitor: &str) -> Result<Config, String> {
        let listen = "127.0.0.1:8080".parse().unwrap_or_else(|_| unreachable!());
        Config::from_toml(&format!("[monitor]\n{monitor}\n"), "test", listen)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn durations_are_humantime_and_bad_values_name_their_key() {
        let c = load("every = \"10s\"\njitter = \"2s\"").unwrap_or_else(|e| panic!("{e}"));
        assert!(c.monitor.enabled);
        assert_eq!(c.monitor.every.as_secs(), 10);
        assert_eq!(c.monitor.jitter.as_secs(), 2);
        let c = load("").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.monitor.every.as_secs(), 15 * 60);
        assert_eq!(c.monitor.jitter.as_secs(), 60);
        for (text, key) in [
            ("every = \"soon\"", "monitor.every"),
            ("every = \"1s\"", "monitor.every"),
            ("every = \"10s\"\njitter = \"10s\"", "monitor.jitter"),
            ("concurrency = 0", "monitor.concurrency"),
            ("history = 5000", "monitor.history"),
            ("registrations = [\"nobody\"]", "monitor.registrations"),
            (
                "webhook_url_env = \"not a name\"",
                "monitor.webhook_url_env",
            ),
            ("evry = \"10s\"", "evry"),
        ] {
            let e = load(text)
                .err()
                .unwrap_or_else(|| panic!("{text} accepted"));
            assert!(e.contains(key), "{text}: {e}");
        }
        // No section: nothing scheduled.
        let listen = "127.0.0.1:8080".parse().unwrap_or_else(|_| unreachable!());
        assert!(
            !Config::from_toml("", "test", listen)
                .map(|c| c.monitor.enabled)
                .unwrap_or(true)
        );
    }

    #[test]
    fn monitor_false_leaves_a_registration_out_unless_named() {
        let reg = "[[registration]]\nid = \"quiet\"\nname = \"Q\"\niss = \"https://ehr.example/fhir\"\nclient_id = \"c\"\nscope = \"openid\"\nmonitor = false\n";
        let listen = "127.0.0.1:8080".parse().unwrap_or_else(|_| unreachable!());
        let c = Config::from_toml(&format!("[monitor]\n{reg}"), "t", listen)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!c.monitor.watches("quiet"));
        assert!(c.monitor.watches("practice"));
        let named = format!("[monitor]\nregistrations = [\"quiet\"]\n{reg}");
        let c = Config::from_toml(&named, "t", listen).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.monitor.watches("quiet"));
        assert!(!c.monitor.watches("practice"));
    }
}
