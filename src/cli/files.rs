//! `catalogue`, `diagnose` and `keygen`: the commands that read or write files and need no core.

use std::process::ExitCode;

use smart_launch_doctor::smart::client_auth::SigningKey;

/// `catalogue`: the diagnosis catalogue on stdout; always exit 0 (clap rejects a bad format).
pub fn catalogue(format: &str) -> ExitCode {
    use smart_launch_doctor::diagnosis::catalogue_doc;
    match format {
        "json" => super::emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&catalogue_doc::json()).unwrap_or_default()
        )),
        "markdown" => super::emit(&catalogue_doc::markdown()),
        _ => super::emit(&catalogue_doc::text()),
    }
    ExitCode::SUCCESS
}

/// `diagnose`: the launches in a HAR; exit 0 without error-severity findings, 1 with, 2 when
/// the file cannot be read or is not a HAR (the message names no content of it).
pub fn diagnose(file: &std::path::Path, format: &str) -> ExitCode {
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
        super::emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ));
    } else {
        super::emit(&har::text::render(&report));
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

/// Writes the key, prints the public JWK (a JWKS of one) and the configuration lines.
pub fn keygen(alg: &str, out: &std::path::Path) -> ExitCode {
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
    super::emit(&format!(
        "{}\n",
        serde_json::to_string_pretty(&jwks).unwrap_or_default()
    ));
    eprintln!(
        "Wrote {}. Register the JWKS above with the EHR (or serve it: /.well-known/jwks.json), then configure:\n  auth = \"private_key_jwt\"\n  private_key = {:?}\n  key_id = {:?}\n  alg = {alg:?}",
        out.display(),
        out.display().to_string(),
        key.kid
    );
    ExitCode::SUCCESS
}
