//! `smart-launch-doctor catalogue` through the real binary, the repository's Markdown copy of it,
//! and a repository that stands alone (no reference to a planning folder outside it).

use std::path::{Path, PathBuf};

use smart_launch_doctor::diagnosis::Severity;
use smart_launch_doctor::diagnosis::catalog::ENTRIES;

const BIN: &str = env!("CARGO_BIN_EXE_smart-launch-doctor");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

async fn catalogue(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(BIN)
        .arg("catalogue")
        .args(args)
        .output()
        .await
        .unwrap()
}

fn stdout(out: &std::process::Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[tokio::test]
async fn catalogue_json_lists_every_entry() {
    let out = catalogue(&["--format", "json"]).await;
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let list = json["diagnoses"].as_array().unwrap();
    assert_eq!(list.len(), ENTRIES.len());
    for e in ENTRIES {
        let d = list
            .iter()
            .find(|d| d["id"] == e.id().as_str())
            .unwrap_or_else(|| panic!("{} missing from catalogue --format json", e.id()));
        let severity = match e.severity {
            Severity::Error => "error",
            Severity::Warn => "warn",
        };
        assert_eq!(d["severity"], severity, "{}", e.id());
        assert_eq!(d["title"], e.title, "{}", e.id());
        assert_eq!(d["plain"], e.plain, "{}", e.id());
        assert_eq!(d["causes"], serde_json::json!(e.causes), "{}", e.id());
        assert_eq!(d["fixes"], serde_json::json!(e.fixes), "{}", e.id());
        let rules: Vec<_> = e
            .rules
            .iter()
            .map(|(label, url)| serde_json::json!({ "label": label, "url": url }))
            .collect();
        assert_eq!(d["rules"], serde_json::json!(rules), "{}", e.id());
    }
}

#[tokio::test]
async fn catalogue_markdown_equals_the_repository_copy() {
    let out = catalogue(&["--format", "markdown"]).await;
    let committed = std::fs::read_to_string(Path::new(ROOT).join("docs/diagnoses.md")).unwrap();
    assert!(
        stdout(&out) == committed,
        "docs/diagnoses.md is stale; regenerate it with\n    {}",
        smart_launch_doctor::diagnosis::catalogue_doc::REGENERATE
    );
}

#[tokio::test]
async fn catalogue_text_is_the_default_and_names_every_id() {
    let default = stdout(&catalogue(&[]).await);
    let text = stdout(&catalogue(&["--format", "text"]).await);
    assert_eq!(default, text);
    for e in ENTRIES {
        assert!(
            text.contains(e.id().as_str()),
            "{} missing from catalogue text",
            e.id()
        );
        assert!(text.contains(e.title), "{} title missing", e.id());
    }
}

#[tokio::test]
async fn catalogue_bad_format_is_a_usage_error() {
    let out = catalogue(&["--format", "yaml"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("yaml"));
}

/// Files under `dir`, skipping installed dependencies and build and test output.
fn text_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if matches!(
            name.to_str(),
            Some("node_modules" | "target" | "test-artifacts" | ".git")
        ) {
            continue;
        }
        if path.is_dir() {
            text_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Nothing in the repository refers to the planning folder next to it, which users do not have.
#[test]
fn repository_stands_alone_without_the_planning_folder() {
    // Built so that this file does not contain the needle itself.
    let needle = concat!("..", "/", "shared", "/");
    let root = Path::new(ROOT);
    let mut files = Vec::new();
    for top in [
        "README.md",
        "Cargo.toml",
        "clippy.toml",
        ".gitignore",
        "docs",
        "src",
        "tests",
        "templates",
        "static",
        "benches",
        ".ci",
    ] {
        let path = root.join(top);
        if path.is_dir() {
            text_files(&path, &mut files);
        } else if path.is_file() {
            files.push(path);
        }
    }
    assert!(files.iter().any(|f| f.ends_with("README.md")));
    let offenders: Vec<String> = files
        .iter()
        .filter_map(|f| {
            // Binary files (not UTF-8) are skipped.
            let text = std::fs::read_to_string(f).ok()?;
            let lines: Vec<String> = text
                .lines()
                .enumerate()
                .filter(|(_, l)| l.contains(needle))
                .map(|(i, _)| format!("{}:{}", f.strip_prefix(root).unwrap_or(f).display(), i + 1))
                .collect();
            (!lines.is_empty()).then(|| lines.join("\n"))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "these lines refer to {needle}, which users do not have; link the repository's docs/ instead:\n{}",
        offenders.join("\n")
    );
}
