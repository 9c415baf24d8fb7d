//! Prometheus metrics (`metrics = true`): launches, diagnoses, upstream exchanges, store failures
//! and rate-limited requests, rendered as the text exposition format at `GET /metrics`.
//!
//! Each [`Metrics`] owns its recorder (`metrics-exporter-prometheus`, no global recorder, no HTTP
//! listener of its own): two apps in one process (the tests) never mix their counts.
//!
//! Label values are bounded and never free text: a registration id from the configuration
//! (every ad-hoc or developer-mode app is [`ADHOC`]), a catalogue id, or one of the fixed values
//! listed in [`FIXED_LABEL_VALUES`]. No secret, token, URL, patient or user detail is a label.

use std::sync::Arc;

use metrics::{Key, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::diagnosis::launch_report::LaunchReport;
use crate::record::{AppRef, LaunchRecord};
use crate::smart::LaunchKind;
use crate::smart::transcript::{Exchange, ExchangeStep};

/// The registration label of every app that is not in the configuration.
pub const ADHOC: &str = "adhoc";
/// The registration label of a diagnosis on an error page that no launch is known for (a
/// callback whose state matches nothing, an `iss` nobody registered, a store that failed).
pub const NONE: &str = "none";

/// Every label value that is neither a registration id nor a catalogue id.
pub const FIXED_LABEL_VALUES: &[&str] = &[
    ADHOC,
    NONE,
    // kind
    "ehr",
    "standalone",
    "backend",
    // outcome
    "success",
    "error",
    "pending",
    // step (of a launch, and of an upstream exchange)
    "launch",
    "discovery",
    "authorize",
    "callback",
    "token",
    "id_token",
    "fhir",
    "refresh",
    "probe",
    "other",
    // severity
    "warn",
    // exchange result
    "2xx",
    "3xx",
    "4xx",
    "5xx",
    "1xx",
    "network",
    // store
    "session",
    // a probe's whole duration
    "total",
    // what was rate limited
    "practice",
    // histogram bucket bounds and quantiles are numbers, not values of ours
];

/// Latency buckets of upstream exchanges, in seconds.
const BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

const META: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// The metrics of one app; off (every call a no-op) unless `metrics = true`. Cheap to clone.
#[derive(Clone, Default)]
pub struct Metrics(Option<Arc<Inner>>);

struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Metrics {
    pub fn new(enabled: bool) -> Self {
        if !enabled {
            return Metrics(None);
        }
        let builder = PrometheusBuilder::new();
        let builder = match builder.set_buckets(BUCKETS) {
            Ok(b) => b,
            // Only an empty bucket list is refused; ours is not.
            Err(_) => PrometheusBuilder::new(),
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        for (name, help) in [
            (
                "sld_launches_started_total",
                "Launches started, by registration and kind.",
            ),
            (
                "sld_launches_finished_total",
                "Launches finished, by registration, kind, outcome and the step reached or failed.",
            ),
            (
                "sld_diagnoses_total",
                "Diagnoses of finished launches and refreshes, by catalogue id, severity and registration.",
            ),
            (
                "sld_upstream_exchanges_total",
                "Requests to EHRs (discovery, token, id_token keys, FHIR reads, refresh), by step and result.",
            ),
            (
                "sld_store_errors_total",
                "Requests that failed because the session or launch store did not answer.",
            ),
            (
                "sld_rate_limited_total",
                "Requests refused by the per-address rate limit (launch routes or the practice EHR).",
            ),
        ] {
            recorder.describe_counter(name.into(), None, help.into());
        }
        for (name, help) in crate::monitor::exposition::METRICS {
            recorder.describe_gauge((*name).into(), None, (*help).into());
        }
        recorder.describe_histogram(
            "sld_upstream_duration_seconds".into(),
            Some(metrics::Unit::Seconds),
            "Duration of requests to EHRs, by step.".into(),
        );
        Metrics(Some(Arc::new(Inner { recorder, handle })))
    }

    pub fn enabled(&self) -> bool {
        self.0.is_some()
    }

    fn count(&self, name: &'static str, labels: &[(&'static str, &str)]) {
        if let Some(m) = &self.0 {
            m.recorder
                .register_counter(&key(name, labels), &META)
                .increment(1);
        }
    }

    /// A launch began (before discovery).
    pub fn launch_started(&self, app: &AppRef, kind: LaunchKind) {
        self.count(
            "sld_launches_started_total",
            &[
                ("registration", registration(app)),
                ("kind", kind_label(kind)),
            ],
        );
    }

    /// A launch ended (or failed before its redirect): its outcome, step, diagnoses and the
    /// upstream exchanges it made after discovery.
    /// Counted from the launch's report: the outcome, step and diagnoses every view shows.
    pub fn launch_finished(&self, report: &LaunchReport) {
        if !self.enabled() {
            return;
        }
        let reg = record_registration(report.record());
        self.count(
            "sld_launches_finished_total",
            &[
                ("registration", reg),
                ("kind", report.kind_label()),
                ("outcome", report.outcome_label()),
                ("step", report.step().as_str()),
            ],
        );
        for d in report.diagnoses() {
            self.diagnosis(reg, d);
        }
        // Discovery was counted when it was made (see `discovery`).
        let made: Vec<Exchange> = report
            .exchanges_made()
            .filter(|x| x.step != ExchangeStep::Discovery)
            .cloned()
            .collect();
        self.exchanges(&made);
    }

    /// A refresh from the result page: its diagnoses and exchanges.
    pub fn refreshed(&self, r: &LaunchRecord, exchanges: &[Exchange]) {
        if !self.enabled() {
            return;
        }
        if let Some(last) = r.refreshes().last() {
            for d in &last.diagnoses {
                self.diagnosis(record_registration(r), d);
            }
        }
        self.exchanges(exchanges);
    }

    /// The diagnoses of an error page (no launch record: the launch is unknown or never began).
    pub fn page_diagnoses(&self, ds: &[crate::diagnosis::Diagnosis]) {
        for d in ds {
            self.diagnosis(NONE, d);
        }
    }

    fn diagnosis(&self, registration: &str, d: &crate::diagnosis::Diagnosis) {
        self.count(
            "sld_diagnoses_total",
            &[
                ("id", d.id().as_str()),
                ("severity", if d.is_error() { "error" } else { "warn" }),
                ("registration", registration),
            ],
        );
    }

    /// Discovery requests, counted when made (a launch's record may repeat them later).
    pub fn discovery(&self, exchanges: &[Exchange]) {
        self.exchanges(exchanges);
    }

    fn exchanges(&self, exchanges: &[Exchange]) {
        let Some(m) = &self.0 else { return };
        for x in exchanges.iter().filter(|x| !x.cached) {
            let step = exchange_step(x.step);
            let result = match x.status {
                Some(s) => match s / 100 {
                    1 => "1xx",
                    2 => "2xx",
                    3 => "3xx",
                    4 => "4xx",
                    _ => "5xx",
                },
                None => "network",
            };
            self.count(
                "sld_upstream_exchanges_total",
                &[("step", step), ("result", result)],
            );
            m.recorder
                .register_histogram(
                    &key("sld_upstream_duration_seconds", &[("step", step)]),
                    &META,
                )
                .record(x.duration_ms as f64 / 1000.0);
        }
    }

    /// A request failed because a store did not answer (`store`: "session" or "launch").
    pub fn store_error(&self, store: &'static str) {
        self.count("sld_store_errors_total", &[("store", store)]);
    }

    /// A request was refused by the rate limit (`scope`: "launch" or "practice").
    pub fn rate_limited(&self, scope: &'static str) {
        self.count("sld_rate_limited_total", &[("scope", scope)]);
    }

    /// A scheduled probe's run (see `crate::monitor`): its gauges replace the last run's;
    /// `failing` are the diagnosis ids it failed with, `cleared` those of the run before that
    /// no longer fail (set to 0).
    pub fn probe(&self, run: &crate::monitor::Run, failing: &[String], cleared: &[String]) {
        let Some(m) = &self.0 else { return };
        let reg = run.registration.as_str();
        let gauge = |name: &'static str, labels: &[(&'static str, &str)], v: f64| {
            m.recorder.register_gauge(&key(name, labels), &META).set(v);
        };
        let up = run.status != crate::monitor::Status::Down;
        gauge(
            "sld_probe_success",
            &[("registration", reg)],
            f64::from(u8::from(up)),
        );
        for s in &run.steps {
            gauge(
                "sld_probe_duration_seconds",
                &[("registration", reg), ("step", s.step.as_str())],
                s.seconds,
            );
        }
        for id in failing {
            gauge(
                "sld_probe_failure",
                &[("registration", reg), ("diagnosis", id)],
                1.0,
            );
        }
        for id in cleared {
            gauge(
                "sld_probe_failure",
                &[("registration", reg), ("diagnosis", id)],
                0.0,
            );
        }
        if let Some(t) = run.tls_not_after {
            gauge(
                "sld_tls_certificate_expiry_seconds",
                &[("registration", reg)],
                t as f64,
            );
        }
    }

    /// The exposition text; `None` when metrics are off.
    pub fn render(&self) -> Option<String> {
        let m = self.0.as_ref()?;
        m.handle.run_upkeep();
        Some(m.handle.render())
    }
}

fn key(name: &'static str, labels: &[(&'static str, &str)]) -> Key {
    Key::from_parts(
        name,
        labels
            .iter()
            .map(|(k, v)| Label::new(*k, v.to_string()))
            .collect::<Vec<_>>(),
    )
}

fn registration(app: &AppRef) -> &str {
    match app {
        AppRef::Registered(id) => id,
        AppRef::AdHoc(s) if crate::gallery::is_gallery_app(&s.reg.id) => &s.reg.id,
        AppRef::AdHoc(_) => ADHOC,
    }
}

fn record_registration(r: &LaunchRecord) -> &str {
    if r.app().adhoc && crate::gallery::is_gallery_app(&r.app().id) {
        return &r.app().id;
    }
    if r.app().adhoc {
        return ADHOC;
    }
    match &r.app_ref() {
        Some(app) => registration(app),
        None => &r.app().id,
    }
}

fn kind_label(k: LaunchKind) -> &'static str {
    match k {
        LaunchKind::Ehr => "ehr",
        LaunchKind::Standalone => "standalone",
        LaunchKind::Backend => "backend",
    }
}

/// An exchange's step as one of the fixed label values.
fn exchange_step(step: ExchangeStep) -> &'static str {
    match step {
        ExchangeStep::Discovery
        | ExchangeStep::Token
        | ExchangeStep::Refresh
        | ExchangeStep::IdToken
        | ExchangeStep::Fhir
        | ExchangeStep::Probe => step.as_str(),
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_renders_nothing_and_on_renders_counts() {
        let off = Metrics::new(false);
        off.rate_limited("launch");
        assert!(off.render().is_none());
        let on = Metrics::new(true);
        on.rate_limited("launch");
        on.store_error("session");
        let text = on.render().unwrap();
        assert!(
            text.contains("sld_rate_limited_total{scope=\"launch\"} 1"),
            "{text}"
        );
        assert!(text.contains("sld_store_errors_total{store=\"session\"} 1"));
        // Another app in the same process counts apart.
        assert!(!Metrics::new(true).render().unwrap().contains("sld_rate"));
    }
}
