//! Ids and steps are compared as values: a source scan fails when a branch outside the catalogue
//! compares a diagnosis id, an id's family or a transcript step with a string literal
//! (`d.id() == "token.x"`, `"token.x" =>`, `starts_with("net.")`, `x.step == "fhir"`).
//! Test code (files named `tests.rs` or `*_tests.rs`, and what follows `#[cfg(test)]`) may still
//! compare with strings.

use std::path::{Path, PathBuf};

use super::Family;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Where a literal naming an id (`"token.invalid_grant"`) or a family (`"net."`) starts and ends.
fn id_literals(line: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (start, _) in line.match_indices('"') {
        let rest = &line[start + 1..];
        let Some(len) = rest.find('"') else { continue };
        let text = &rest[..len];
        let named = Family::ALL.iter().any(|f| {
            text.strip_prefix(f.as_str())
                .and_then(|t| t.strip_prefix('.'))
                .is_some_and(|name| {
                    name.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                })
        });
        if named {
            out.push((start, start + len + 2));
        }
    }
    out
}

/// A string comparison on this line: an id or family literal beside `==`, `!=`, `=>`, `|` or
/// a prefix test, or a step compared with any literal.
fn compares_as_string(line: &str) -> bool {
    let compared_id = id_literals(line).into_iter().any(|(s, e)| {
        let before = line[..s].trim_end();
        let after = line[e..].trim_start();
        [
            "==",
            "!=",
            "|",
            "starts_with(",
            "strip_prefix(",
            "contains(&",
        ]
        .iter()
        .any(|op| before.ends_with(op))
            || ["==", "!=", "=>", "|"]
                .iter()
                .any(|op| after.starts_with(op))
            || line.contains("matches!(")
    });
    let compared_step = ["step", "step()", "step.as_str()"].iter().any(|s| {
        ["==", "!="]
            .iter()
            .any(|op| line.contains(&format!("{s} {op} \"")))
    }) || line.contains("step.as_str() {");
    compared_id || compared_step
}

/// The source lines of `src/` outside the catalogue and outside tests that compare as strings.
fn string_comparisons(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut found = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy();
        if path.starts_with(src.join("diagnosis/catalog"))
            || name == "tests.rs"
            || name.ends_with("_tests.rs")
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in code.lines().enumerate() {
            if !line.trim_start().starts_with("//") && compares_as_string(line) {
                found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn no_id_or_step_is_compared_as_a_string_outside_the_catalogue() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = string_comparisons(&src);
    assert!(
        found.is_empty(),
        "compare ids with id!(…) or .family(), steps with their enums:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_sees_each_kind_of_string_comparison() {
    for line in [
        r#"if d.id() == "token.invalid_grant" {"#,
        r#"let refusal = matches!(d.id(), "fhir.invalid_token" | "fhir.forbidden");"#,
        r#"        "token.unknown_client" => {"#,
        r#"            | "token.bad_auth_header""#,
        r#"let unreachable = top.is_some_and(|id| id.starts_with("net."));"#,
        r#".filter(|c| !c.id.starts_with("server.backend_"))"#,
        r#".any(|x| x.step == "authorize");"#,
        r#"let step = match x.step.as_str() {"#,
    ] {
        assert!(compares_as_string(line), "{line}");
    }
    for line in [
        r#"Diagnosis::new(id!("token.invalid_grant"), "summary")"#,
        r#"if d.id() == id!("token.invalid_grant") {"#,
        r#"format!("the token step failed")"#,
        r#"x.step == ExchangeStep::Authorize"#,
    ] {
        assert!(!compares_as_string(line), "{line}");
    }
}
