//! `check` and `backend`: one registration's preflight and credential probe, or one Backend
//! Services run, against a configured server or an in-process practice EHR.

use std::path::PathBuf;
use std::process::ExitCode;

use smart_launch_doctor::diagnosis::assess::AssessConfig;
use smart_launch_doctor::diagnosis::launch_report::LaunchReport;
use smart_launch_doctor::state::Core;

use crate::local_practice::LocalPractice;

/// `check`: exit 0 without error-severity findings, 1 with, 2 on usage or configuration errors.
pub async fn check(config: Option<PathBuf>, ids: Vec<String>, format: &str) -> ExitCode {
    let config_path = config;
    let wanted: Vec<&str> = ids.iter().map(String::as_str).collect();
    let config = match super::load_for("check", config_path.as_deref(), &wanted) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let selected: Vec<_> = config
        .registrations
        .iter()
        .filter(|r| ids.is_empty() || ids.contains(&r.id))
        .cloned()
        .collect();
    // Only the core: no session store, no practice EHR key.
    let state = match Core::new(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let ids = selected.iter().map(|r| r.id.as_str());
    let practice =
        match LocalPractice::start(config_path.as_deref(), ids, "check", "this check").await {
            Ok(p) => p,
            Err(code) => return code,
        };
    let mut reports = Vec::new();
    for reg in &selected {
        let report = match practice.as_ref().and_then(|p| p.registration(&reg.id)) {
            Some((core, reg)) => smart_launch_doctor::check::check(core, &reg, false).await,
            None => smart_launch_doctor::check::check(&state, reg, false).await,
        };
        reports.push(report);
    }
    if format == "json" {
        let json = serde_json::json!({ "registrations": reports });
        super::emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        ));
    } else {
        let colour = std::io::IsTerminal::is_terminal(&std::io::stdout())
            && std::env::var_os("NO_COLOR").is_none();
        super::emit(&smart_launch_doctor::check::text::render(&reports, colour));
    }
    if reports.iter().any(|r| r.has_error()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `backend`: one Backend Services run; exit 0 without error-severity findings, 1 with, 2 on
/// usage or configuration errors. Nothing is stored.
pub async fn backend(config: Option<PathBuf>, id: &str, format: &str) -> ExitCode {
    use smart_launch_doctor::check::backend as out;
    use smart_launch_doctor::record::AppRef;
    let config_path = config;
    let config = match super::load_for("backend", config_path.as_deref(), &[id]) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(reg) = config.registration(id).cloned() else {
        return ExitCode::from(2);
    };
    if !reg.backend {
        eprintln!(
            "backend: registration {id:?} is not a Backend Services client (set backend = true)"
        );
        return ExitCode::from(2);
    }
    let core = match Core::new(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let app = AppRef::Registered(reg.id.clone());
    let practice = match LocalPractice::start(
        config_path.as_deref(),
        std::iter::once(id),
        "backend",
        "this run",
    )
    .await
    {
        Ok(p) => p,
        Err(code) => return code,
    };
    let record = match practice.as_ref().and_then(|p| p.registration(id)) {
        Some((core, reg)) => {
            smart_launch_doctor::flow::backend::run(core, app, &reg, Default::default()).await
        }
        None => smart_launch_doctor::flow::backend::run(&core, app, &reg, Default::default()).await,
    };
    // Rendered from its report, like every view of a run: the reasoner's verdict, ranked.
    let report = LaunchReport::assemble(
        record,
        &AssessConfig::of(&core.config),
        smart_launch_doctor::record::now(),
    );
    if format == "json" {
        super::emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&out::json(&report)).unwrap_or_default()
        ));
    } else {
        let colour = std::io::IsTerminal::is_terminal(&std::io::stdout())
            && std::env::var_os("NO_COLOR").is_none();
        super::emit(&out::text(&report, colour));
    }
    if out::has_error(&report) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
