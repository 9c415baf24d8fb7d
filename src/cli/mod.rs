//! Part of the binary: the commands other than `serve`, one module each, and what they share.

pub mod check;
pub mod files;
pub mod monitor;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// `check` and `backend` log warnings only, and none from an in-process practice EHR: what it
/// notes is the other side of the wire (e.g. the deliberate `client_assertion_type` probe), not a
/// finding about the registration. `RUST_LOG` overrides.
pub const CLI_LOG: &str = "warn,smart_launch_doctor::practice=error";

pub fn init_tracing(json: bool, default: &str) {
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

/// Writes `text` to stdout; a reader that went away (`| head`) is not an error worth a panic.
pub(crate) fn emit(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// The configuration a one-shot command runs with (listening address as `serve`'s default),
/// tracing started, every id in `ids` checked to name a registration: exit 2 otherwise.
pub(crate) fn load_for(
    command: &str,
    path: Option<&std::path::Path>,
    ids: &[&str],
) -> Result<smart_launch_doctor::config::Config, std::process::ExitCode> {
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 8080));
    let config = smart_launch_doctor::config::Config::load(path, listen).map_err(|e| {
        eprintln!("configuration error: {e}");
        std::process::ExitCode::from(2)
    })?;
    init_tracing(false, CLI_LOG);
    if let Some(unknown) = ids.iter().find(|id| config.registration(id).is_none()) {
        eprintln!("{command}: no registration has the id {unknown:?}");
        return Err(std::process::ExitCode::from(2));
    }
    Ok(config)
}
