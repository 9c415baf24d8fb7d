//! The `smart-launch-doctor` command: `serve` runs the web app, `check` checks registrations,
//! `backend` runs a Backend Services client, `keygen` writes a signing key, `catalogue` prints every diagnosis the app can report, `explain` diagnoses a pasted answer.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use smart_launch_doctor::AppState;
use smart_launch_doctor::config::Config;

mod cli;
mod explain_cmd;
mod local_practice;

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
            cli::init_tracing(log_json, "info");
            serve(config, listen).await
        }
        Command::Check {
            config,
            ids,
            format,
        } => cli::check::check(config, ids, &format).await,
        Command::Backend { id, config, format } => cli::check::backend(config, &id, &format).await,
        Command::Monitor {
            once,
            config,
            format,
            ids,
        } => cli::monitor::monitor_once(once, config, ids, &format).await,
        Command::Keygen { alg, out } => cli::files::keygen(&alg, &out),
        Command::Catalogue { format } => cli::files::catalogue(&format),
        Command::Diagnose { file, format } => cli::files::diagnose(&file, &format),
        Command::Explain {
            step,
            auth,
            format,
            file,
        } => explain_cmd::explain(&step, &auth, &format, &file),
    }
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
