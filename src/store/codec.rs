//! A record as stored outside process memory: JSON, its private parts sealed.

use std::sync::Arc;

use super::StoreError;
use crate::record::LaunchRecord;
use crate::seal::Sealer;

/// The members of a stored record that are sealed: everything that may hold tokens, patient or
/// user data.
const SEALED: &[&str] = &[
    "token_response",
    "identity",
    "patient",
    "encounter",
    "refreshes",
    "transcript",
    // The introspection answer (patient, user), fhirContext reads (resource names) and a
    // Backend Services run's read can hold patient or user data too.
    "introspection",
    "context",
    "backend",
];

/// A record as stored outside process memory: its private parts sealed under `"sealed"`.
pub(super) fn encode(record: &LaunchRecord, sealer: &Sealer) -> Result<String, StoreError> {
    let mut value = serde_json::to_value(record).map_err(|e| StoreError(e.to_string()))?;
    if let serde_json::Value::Object(map) = &mut value {
        let private: serde_json::Map<String, serde_json::Value> = SEALED
            .iter()
            .filter_map(|k| map.remove(*k).map(|v| (k.to_string(), v)))
            .collect();
        let text = serde_json::Value::Object(private).to_string();
        map.insert("sealed".into(), sealer.seal(&text).into());
    }
    Ok(value.to_string())
}

/// A record read back; one that no longer decodes (written by another version) is skipped.
/// Private parts sealed with another key are left out (the record still lists).
pub(super) fn decode(id: &str, text: &str, sealer: &Sealer) -> Option<Arc<LaunchRecord>> {
    let parsed = serde_json::from_str::<serde_json::Value>(text).and_then(|mut value| {
        if let serde_json::Value::Object(map) = &mut value {
            if let Some(serde_json::Value::String(sealed)) = map.remove("sealed") {
                let opened = sealer
                    .open(&sealed)
                    .and_then(|t| serde_json::from_str::<serde_json::Map<_, _>>(&t).ok());
                match opened {
                    Some(private) => map.extend(private),
                    None => tracing::warn!(
                        launch = %id,
                        "a stored launch was sealed with another key; its results are left out"
                    ),
                }
            }
            map.entry("transcript")
                .or_insert_with(|| serde_json::Value::Array(Vec::new()));
        }
        serde_json::from_value(value)
    });
    match parsed {
        Ok(r) => Some(Arc::new(r)),
        Err(e) => {
            tracing::warn!(launch = %id, error = %e, "a stored launch no longer decodes; skipped");
            None
        }
    }
}
