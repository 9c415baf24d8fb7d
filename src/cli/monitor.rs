//! `monitor --once`: one run of each selected registration, recorded like the scheduler's.

use std::path::PathBuf;
use std::process::ExitCode;

use smart_launch_doctor::config::Config;
use smart_launch_doctor::state::Core;

use crate::local_practice::LocalPractice;

/// `monitor --once`: one run of each selected registration; exit 0 / 1 / 2 like `check`.
pub async fn monitor_once(
    once: bool,
    config: Option<PathBuf>,
    ids: Vec<String>,
    format: &str,
) -> ExitCode {
    use smart_launch_doctor::monitor::{Status, text};
    if !once {
        eprintln!(
            "monitor: the schedule runs inside `serve` ([monitor] in the configuration); use --once to probe once (cron)"
        );
        return ExitCode::from(2);
    }
    let config_path = config;
    let wanted: Vec<&str> = ids.iter().map(String::as_str).collect();
    let config = match super::load_for("monitor", config_path.as_deref(), &wanted) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let store_url = config.session_store.clone();
    let (monitor, core) = match monitor_parts(&config) {
        Ok(parts) => parts,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let selected: Vec<_> = config
        .registrations
        .iter()
        .filter(|r| {
            if ids.is_empty() {
                monitor.config().watches(&r.id)
            } else {
                ids.contains(&r.id)
            }
        })
        .cloned()
        .collect();
    let practice = match LocalPractice::start(
        config_path.as_deref(),
        selected.iter().map(|r| r.id.as_str()),
        "monitor",
        "this run",
    )
    .await
    {
        Ok(p) => p,
        Err(code) => return code,
    };
    let mut runs = Vec::new();
    for reg in &selected {
        let run = match practice.as_ref().and_then(|p| p.registration(&reg.id)) {
            // The in-process practice EHR lives as long as this command: nothing to compare with.
            Some((core, reg)) => monitor.run_and_record(core, &reg, false).await,
            None => {
                monitor
                    .run_and_record(&core, reg, store_url.is_some())
                    .await
            }
        };
        runs.push(run);
    }
    if format == "json" {
        let json = serde_json::json!({ "runs": runs });
        println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        );
    } else {
        let colour = std::io::IsTerminal::is_terminal(&std::io::stdout())
            && std::env::var_os("NO_COLOR").is_none();
        print!("{}", text::render(&runs, colour));
    }
    if runs.iter().any(|r| r.status == Status::Down) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The monitor (its history in the configured store) and the core for `monitor --once`.
fn monitor_parts(config: &Config) -> Result<(smart_launch_doctor::monitor::Monitor, Core), String> {
    use smart_launch_doctor::store::{Backend, Limits};
    let limits = Limits::new(config.session_idle);
    // Runs are stored in clear (no secret, no PHI): any sealing key does.
    let sealer = smart_launch_doctor::seal::Sealer::random();
    let store = Backend::open(config.session_store.as_deref(), limits, sealer)
        .map_err(|e| format!("session_store: {e}"))?;
    let monitor = smart_launch_doctor::monitor::Monitor::new(config, store)?;
    let core = Core::new(config.clone()).map_err(|e| e.to_string())?;
    Ok((monitor, core))
}
