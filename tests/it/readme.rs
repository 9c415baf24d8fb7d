//! The README as a new user reads it: every configuration block loads, and every command it shows
//! either runs here as written (those that need no network beyond loopback) or is named below
//! with the reason it is not run, so a new command cannot be added untested.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use smart_launch_doctor::config::Config;
use tokio::io::{AsyncBufReadExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_smart-launch-doctor");
const README: &str = include_str!("../../README.md");

/// Commands the README shows that the suite does not run from here, and why.
const NOT_RUN_HERE: &[(&str, &str)] = &[
    ("tests/run.sh", "it is how the suite itself is run"),
    ("cargo test", "a subset of tests/run.sh"),
    (
        "cargo nextest run -E 'test(corpus)' --no-capture",
        "the corpus tests of this suite; tests/run.sh runs them",
    ),
    (
        "cargo install --path . --locked",
        "a release build of several minutes; it runs the same binary this test runs",
    ),
    (
        "cargo bench --bench launch",
        "a measurement (release build); clippy --all-targets compiles it",
    ),
    (
        "cargo bench --bench slow_ehr",
        "a measurement (release build); clippy --all-targets compiles it",
    ),
    (
        "cargo build --release",
        "part of the performance recipe (needs wrk)",
    ),
    (
        "target/release/smart-launch-doctor serve --config \"$cfg\" --listen 127.0.0.1:9305 2>\"$log\" & server=$!",
        "part of the performance recipe (needs wrk); serve runs below",
    ),
];

/// The program prefixes a runnable README command starts with; what follows are its arguments.
const PROGRAMS: &[&str] = &[
    "smart-launch-doctor ",
    "cargo run --release -- ",
    "cargo run -- ",
];

/// The fenced blocks of one info string (`toml`, `sh`, or "" for a plain fence).
fn blocks(info: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<(bool, String)> = None;
    for line in README.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(rest)) => current = Some((rest.trim() == info, String::new())),
            (Some((keep, text)), Some(_)) => {
                if *keep {
                    out.push(std::mem::take(text));
                }
                current = None;
            }
            (Some((_, text)), None) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

/// Every command the README shows: inline code spans (a span may wrap across lines) outside
/// fenced blocks, and the lines of fenced `sh` and plain blocks.
fn commands() -> Vec<String> {
    let mut prose = String::new();
    let mut fenced = Vec::new();
    let mut in_block: Option<bool> = None;
    for line in README.lines() {
        match (in_block, line.strip_prefix("```")) {
            (None, Some(info)) => in_block = Some(matches!(info.trim(), "sh" | "")),
            (Some(_), Some(_)) => in_block = None,
            (Some(true), None) => fenced.push(line.trim().to_string()),
            (Some(false), None) => {}
            (None, None) => {
                prose.push_str(line);
                prose.push(' ');
            }
        }
    }
    let spans = prose.split('`').skip(1).step_by(2).map(str::to_string);
    let starts = [
        "smart-launch-doctor",
        "cargo ",
        "tests/run.sh",
        "target/release/",
    ];
    fenced
        .into_iter()
        .chain(spans)
        .map(|c| c.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|c| starts.iter().any(|s| c.starts_with(s)))
        .collect()
}

/// A synopsis (`serve [--config FILE]`, `backend ID`, `keygen --alg RS384|ES384`) or the bare
/// program name: documentation of a command's shape, not a command to paste.
fn is_synopsis(c: &str) -> bool {
    let placeholder = |w: &str| {
        w.chars().any(|ch| "[]|…".contains(ch))
            || (w.len() > 1 && w.chars().all(|ch| ch.is_ascii_uppercase()))
    };
    c.split_whitespace().any(placeholder) || PROGRAMS.iter().any(|p| c == p.trim_end())
}

#[test]
fn every_configuration_block_in_the_readme_parses() {
    let toml = blocks("toml");
    assert!(!toml.is_empty(), "the README shows its configuration");
    // A listen address other than the default: the example must follow --listen, not pin a port.
    let listen: SocketAddr = "127.0.0.1:9305".parse().unwrap();
    for text in toml {
        let config = Config::from_toml(&text, "README.md", listen)
            .unwrap_or_else(|e| panic!("README configuration block: {e}\n{text}"));
        assert_eq!(
            config.public_url_mismatch(listen),
            None,
            "the README's configuration overrides --listen"
        );
        assert_eq!(config.redirect_uri(), "http://127.0.0.1:9305/callback");
    }
}

#[tokio::test]
async fn every_command_in_the_readme_runs_as_written() {
    let commands = commands();
    assert!(
        commands.iter().any(|c| c == "cargo run -- serve"),
        "{commands:?}"
    );
    let dir = std::env::temp_dir().join(format!("sld-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut ran = 0;
    for command in &commands {
        if is_synopsis(command) || NOT_RUN_HERE.iter().any(|(c, _)| c == command) {
            continue;
        }
        let args = PROGRAMS
            .iter()
            .find_map(|p| command.strip_prefix(p))
            .unwrap_or_else(|| {
                panic!("the README shows `{command}`: run it here or list it in NOT_RUN_HERE")
            });
        let args: Vec<&str> = args.split_whitespace().collect();
        if args.first() == Some(&"serve") {
            serve_answers(&dir, &args).await;
        } else if args.first() == Some(&"diagnose") {
            // From the repository (its fixtures); the README says this one exits 1.
            let out = tokio::process::Command::new(BIN)
                .args(&args)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .output()
                .await
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.code(), Some(1), "`{command}`: {stdout}");
            assert!(
                stdout.contains("failed (token.bad_client_credentials)"),
                "{stdout}"
            );
        } else {
            // From an empty directory, as in a fresh clone without a smart-launch-doctor.toml.
            let out = tokio::time::timeout(
                Duration::from_secs(120),
                tokio::process::Command::new(BIN)
                    .args(&args)
                    .current_dir(&dir)
                    .kill_on_drop(true)
                    .output(),
            )
            .await
            .unwrap_or_else(|_| panic!("`{command}` did not finish"))
            .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "`{command}` failed: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            if args == ["check", "practice"] {
                // What the README says it prints.
                assert!(
                    stdout.contains("discovery: 8 of 8 server checks passed (2 not tested)"),
                    "{stdout}"
                );
            }
        }
        ran += 1;
    }
    assert!(ran >= 4, "ran {ran} of {commands:?}");
}

/// Runs `serve` as written plus a free `--listen` port, and waits for its "listening" line.
async fn serve_answers(dir: &std::path::Path, args: &[&str]) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let listen = format!("127.0.0.1:{port}");
    let mut child = tokio::process::Command::new(BIN)
        .args(args)
        .args(["--listen", &listen])
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let listening = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            assert!(!line.contains("WARN"), "a warning on the defaults: {line}");
            if line.contains("listening") {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(listening, "`serve` started on {listen}");
    let home = reqwest::get(format!("http://{listen}/")).await.unwrap();
    assert_eq!(home.status(), 200);
    child.start_kill().unwrap();
    let _ = child.wait().await;
}
