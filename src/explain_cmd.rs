//! `smart-launch-doctor explain`: a pasted answer diagnosed on the command line.

use std::process::ExitCode;

/// `explain`: a pasted answer diagnosed; exit 0 (no error finding), 1 (one or more), 2 (usage).
pub fn explain(step: &str, auth: &str, format: &str, file: &std::path::Path) -> ExitCode {
    use smart_launch_doctor::config::AuthMethod;
    use smart_launch_doctor::diagnosis::explain::{self, MAX_PASTE_BYTES, Step, render};
    use std::io::Read;
    let (Some(step), Some(auth)) = (Step::parse(step), AuthMethod::parse(auth)) else {
        return ExitCode::from(2);
    };
    let mut bytes = Vec::new();
    let read = if file.as_os_str() == "-" {
        std::io::stdin()
            .take(MAX_PASTE_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(file)
            .and_then(|f| f.take(MAX_PASTE_BYTES as u64 + 1).read_to_end(&mut bytes))
    };
    if let Err(e) = read {
        eprintln!("explain: cannot read {}: {e}", file.display());
        return ExitCode::from(2);
    }
    if bytes.len() > MAX_PASTE_BYTES {
        eprintln!("explain: the answer is larger than {MAX_PASTE_BYTES} bytes");
        return ExitCode::from(2);
    }
    let text = String::from_utf8_lossy(&bytes);
    if text.trim().is_empty() {
        eprintln!("explain: nothing to explain (the answer is empty)");
        return ExitCode::from(2);
    }
    let e = explain::explain(&text, step, auth, std::time::SystemTime::now());
    let out = match format {
        "json" => format!(
            "{}\n",
            serde_json::to_string_pretty(&render::to_json(&e)).unwrap_or_default()
        ),
        _ => render::to_text(&e),
    };
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes());
    if e.has_error() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
