//! The `smart-launch-doctor` command: `serve` runs the web app, `check` checks registrations,
//! `backend` runs a Backend Services client, `keygen` writes a signing key, `catalogue` prints every diagnosis the app can report, `explain` diagnoses a pasted answer.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use smart_launch_doctor::AppState;
use smart_launch_doctor::config::Config;
use smart_launch_doctor::smart::client_auth::SigningKey;
use smart_launch_doctor::state::Core;
use tracing_subscriber::EnvFilter;

mod explain_cmd;
mod local_practice;
use local_practice::LocalPractice;

#[derive(Parser)]
#[command(
    version,
    about = "A SMART on FHIR launch client that tells you precisely why a launch failed"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web app.
    Serve {
        /// Configuration file (default: ./smart-launch-doctor.toml if present, else built-in defaults).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Log as JSON lines instead of text.
        #[arg(long)]
        log_json: bool,
    },
    /// Check registrations without logging in: preflight and credential probe.
    Check {
        /// Configuration file (default: ./smart-launch-doctor.toml if present, else built-in defaults).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Registration ids to check (default: all).
        ids: Vec<String>,
        /// Output format.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
    },
    /// Run a SMART Backend Services registration (backend = true): client_credentials with a
    /// client assertion, the token checked, one FHIR read. Exit 0 / 1 / 2 like `check`.
    Backend {
        /// The registration id.
        id: String,
        /// Configuration file (default: ./smart-launch-doctor.toml if present, else built-in defaults).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Output format.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
    },
    /// Probe the registrations `[monitor]` watches (or the ids given) once, as the schedule inside
    /// `serve` does: for cron. Exit 0 when none is down, 1 when one is, 2 on usage or
    /// configuration errors. With a Redis or SQLite `session_store` the runs join the history
    /// `/status` shows (and a change fires the webhook).
    Monitor {
        /// Run once and exit (the schedule itself runs inside `serve`).
        #[arg(long)]
        once: bool,
        /// Configuration file (default: ./smart-launch-doctor.toml if present, else built-in defaults).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Output format.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
        /// Registration ids to probe (default: those `[monitor]` watches).
        ids: Vec<String>,
    },
    /// Write a new private key for private_key_jwt and print the public JWK to register.
    Keygen {
        /// RS384 (RSA 2048) or ES384 (EC P-384).
        #[arg(long, default_value = "RS384", value_parser = ["RS384", "ES384"])]
        alg: String,
        /// Where to write the PEM private key (created with mode 0600; never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Diagnose the SMART launches in a browser's HAR export (secrets redacted). Exit 0 no
    /// error-severity finding, 1 at least one, 2 usage or unreadable file.
    Diagnose {
        /// The HAR file (at most 8 MiB).
        file: PathBuf,
        /// Output format.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
    },
    /// Diagnose a pasted answer (status line + headers + body, a bare body, or an authorize
    /// redirect URL) at its step; secrets in it are redacted first. Exit 0: no error finding;
    /// 1: at least one; 2: usage error.
    Explain {
        /// The step the answer came from.
        #[arg(long, value_parser = ["authorize", "token", "refresh", "client_credentials", "introspection", "fhir"])]
        step: String,
        /// How the client authenticated (default: client_secret_basic).
        #[arg(long, default_value = "client_secret_basic", value_parser = ["none", "client_secret_basic", "client_secret_post", "private_key_jwt"])]
        auth: String,
        /// Output format.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
        /// The file holding the answer, or - for standard input.
        file: PathBuf,
    },
    /// Print every diagnosis the app can report: id, severity, title, causes, fixes, rules.
    Catalogue {
        /// Output format (markdown is the repository's docs/diagnoses.md).
        #[arg(long, default_value = "text", value_parser = ["text", "json", "markdown"])]
        format: String,
    },
}

/// `check` and `backend` log warnings only, and none from an in-process practice EHR: what it
/// notes is the other side of the wire (e.g. the deliberate `client_assertion_type` probe), not a
/// finding about the registration. `RUST_LOG` overrides.
const CLI_LOG: &str = "warn,smart_launch_doctor::practice=error";

fn init_tracing(json: bool, default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colour only for a person at a terminal: escape codes in a log file or journal are noise
        // (and formatting them cost a tenth of a launch's instructions).
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            config,
            listen,
            log_json,
        } => {
            let config = match Config::load(config.as_deref(), listen) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("configuration error: {e}");
                    return ExitCode::from(2);
                }
            };
            init_tracing(log_json, "info");
            serve(config, listen).await
        }
        Command::Check {
            config,
            ids,
            format,
        } => check(config, ids, &format).await,
        Command::Backend { id, config, format } => backend(config, &id, &format).await,
        Command::Monitor {
            once,
            config,
            format,
            ids,
        } => monitor_once(once, config, ids, &format).await,
        Command::Keygen { alg, out } => keygen(&alg, &out),
        Command::Catalogue { format } => catalogue(&format),
        Command::Diagnose { file, format } => diagnose(&file, &format),
        Command::Explain {
            step,
            auth,
            format,
            file,
        } => explain_cmd::explain(&step, &auth, &format, &file),
    }
}

/// `catalogue`: the diagnosis catalogue on stdout; always exit 0 (clap rejects a bad format).
fn catalogue(format: &str) -> ExitCode {
    use smart_launch_doctor::diagnosis::catalogue_doc;
    match format {
        "json" => println!(
            "{}",
            serde_json::to_string_pretty(&catalogue_doc::json()).unwrap_or_default()
        ),
        "markdown" => print!("{}", catalogue_doc::markdown()),
        _ => print!("{}", catalogue_doc::text()),
    }
    ExitCode::SUCCESS
}

/// `diagnose`: the launches in a HAR; exit 0 without error-severity findings, 1 with, 2 when
/// the file cannot be read or is not a HAR (the message names no content of it).
fn diagnose(file: &std::path::Path, format: &str) -> ExitCode {
    use smart_launch_doctor::har;
    let bytes = match read_bounded(file, har::MAX_BYTES) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("diagnose: cannot read {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let parsed = match har::parse(&bytes) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("diagnose: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let report = match har::diagnose(&parsed) {
        Ok((report, _)) => report,
        Err(e) => {
            eprintln!("diagnose: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    if format == "json" {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print!("{}", har::text::render(&report));
    }
    if report.has_error() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// At most `max` bytes of `path` (one more is read to tell a larger file).
fn read_bounded(path: &std::path::Path, max: usize) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    f.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() > max {
        return Err(format!("larger than {max} bytes, the most a HAR may be"));
    }
    Ok(bytes)
}

/// `check`: exit 0 without error-severity findings, 1 with, 2 on usage or configuration errors.
async fn check(config: Option<PathBuf>, ids: Vec<String>, format: &str) -> ExitCode {
    let listen = SocketAddr::from(([127, 0, 0, 1], 8080));
    let config_path = config;
    let config = match Config::load(config_path.as_deref(), listen) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(false, CLI_LOG);
    if let Some(unknown) = ids.iter().find(|id| config.registration(id).is_none()) {
        eprintln!("check: no registration has the id {unknown:?}");
        return ExitCode::from(2);
    }
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
    let practice = LocalPractice::start(config_path.as_deref(), ids, "check", "this check").await;
    let mut reports = Vec::new();
    for reg in &selected {
        let report = match practice.as_ref().and_then(|p| p.registration(&reg.id)) {
            Some((core, reg, key)) => {
                smart_launch_doctor::check::check(core, &reg, key.as_deref(), false).await
            }
            None => {
                let key = state.config.key(&reg.id).cloned();
                smart_launch_doctor::check::check(&state, reg, key.as_deref(), false).await
            }
        };
        reports.push(report);
    }
    if format == "json" {
        let json = serde_json::json!({ "registrations": reports });
        println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        );
    } else {
        let colour = std::io::IsTerminal::is_terminal(&std::io::stdout())
            && std::env::var_os("NO_COLOR").is_none();
        print!(
            "{}",
            smart_launch_doctor::check::text::render(&reports, colour)
        );
    }
    if reports.iter().any(|r| r.has_error()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `backend`: one Backend Services run; exit 0 without error-severity findings, 1 with, 2 on
/// usage or configuration errors. Nothing is stored.
async fn backend(config: Option<PathBuf>, id: &str, format: &str) -> ExitCode {
    use smart_launch_doctor::check::backend as out;
    use smart_launch_doctor::record::AppRef;
    let listen = SocketAddr::from(([127, 0, 0, 1], 8080));
    let config_path = config;
    let config = match Config::load(config_path.as_deref(), listen) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(false, CLI_LOG);
    let Some(reg) = config.registration(id).cloned() else {
        eprintln!("backend: no registration has the id {id:?}");
        return ExitCode::from(2);
    };
    if !reg.backend {
        eprintln!(
            "backend: registration {id:?} is not a Backend Services client (set backend = true)"
        );
        return ExitCode::from(2);
    }
    let key = config.key(id).cloned();
    let core = match Core::new(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let app = AppRef::Registered(reg.id.clone());
    let practice = LocalPractice::start(
        config_path.as_deref(),
        std::iter::once(id),
        "backend",
        "this run",
    )
    .await;
    let record = match practice.as_ref().and_then(|p| p.registration(id)) {
        Some((core, reg, key)) => {
            smart_launch_doctor::flow::backend::run(core, app, &reg, key.as_deref()).await
        }
        None => smart_launch_doctor::flow::backend::run(&core, app, &reg, key.as_deref()).await,
    };
    if format == "json" {
        println!(
            "{}",
            serde_json::to_string_pretty(&out::json(&record)).unwrap_or_default()
        );
    } else {
        let colour = std::io::IsTerminal::is_terminal(&std::io::stdout())
            && std::env::var_os("NO_COLOR").is_none();
        print!("{}", out::text(&record, colour));
    }
    if out::has_error(&record) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `monitor --once`: one run of each selected registration; exit 0 / 1 / 2 like `check`.
async fn monitor_once(
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
    let listen = SocketAddr::from(([127, 0, 0, 1], 8080));
    let config_path = config;
    let config = match Config::load(config_path.as_deref(), listen) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(false, CLI_LOG);
    if let Some(unknown) = ids.iter().find(|id| config.registration(id).is_none()) {
        eprintln!("monitor: no registration has the id {unknown:?}");
        return ExitCode::from(2);
    }
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
    let practice = LocalPractice::start(
        config_path.as_deref(),
        selected.iter().map(|r| r.id.as_str()),
        "monitor",
        "this run",
    )
    .await;
    let mut runs = Vec::new();
    for reg in &selected {
        let run = match practice.as_ref().and_then(|p| p.registration(&reg.id)) {
            // The in-process practice EHR lives as long as this command: nothing to compare with.
            Some((core, reg, _)) => monitor.run_and_record(core, &reg, false).await,
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

/// Writes the key, prints the public JWK (a JWKS of one) and the configuration lines.
fn keygen(alg: &str, out: &std::path::Path) -> ExitCode {
    let (pem, key) = match SigningKey::generate(alg) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("keygen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(out)
        .and_then(|mut f| std::io::Write::write_all(&mut f, pem.as_bytes()));
    if let Err(e) = written {
        eprintln!("keygen: cannot write {}: {e}", out.display());
        return ExitCode::from(2);
    }
    let jwks = smart_launch_doctor::smart::client_auth::jwks([&key]);
    println!(
        "{}",
        serde_json::to_string_pretty(&jwks).unwrap_or_default()
    );
    eprintln!(
        "Wrote {}. Register the JWKS above with the EHR (or serve it: /.well-known/jwks.json), then configure:\n  auth = \"private_key_jwt\"\n  private_key = {:?}\n  key_id = {:?}\n  alg = {alg:?}",
        out.display(),
        out.display().to_string(),
        key.kid
    );
    ExitCode::SUCCESS
}

async fn serve(config: Config, listen: SocketAddr) -> ExitCode {
    let public_url = config.public_url.clone();
    if let Some(warning) = config.public_url_mismatch(listen) {
        tracing::warn!("{warning}");
    }
    let registrations = config.registrations.len();
    if config.practice_ehr && !listen.ip().is_loopback() {
        tracing::warn!(
            %listen,
            "practice_ehr = true on a non-loopback address: anyone who can reach it gets an unauthenticated EHR that signs tokens; turn it off for production"
        );
    }
    let state = match AppState::new(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(addr) = state.config.metrics_listen {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => {
                tracing::info!(%addr, "metrics at http://{addr}/metrics");
                let router = smart_launch_doctor::web::ops::metrics_router(state.clone());
                tokio::spawn(async move { axum::serve(l, router).await });
            }
            Err(e) => {
                eprintln!("cannot listen on metrics_listen {addr}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(%listen, %public_url, registrations, "smart-launch-doctor listening; open {public_url}");
    // Header-read timeout, connection bound, graceful shutdown with a deadline; hyper's own
    // 414/431 refusals get a page or JSON body like every other error (see `listener`).
    let result =
        smart_launch_doctor::web::listener::serve(listener, state, shutdown_signal()).await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
