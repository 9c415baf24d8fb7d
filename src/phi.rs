//! PHI minimization: what a launch record says about people (the signed-in user's and the
//! patient's names and birth dates, the id_token's personal claims, the FHIR resources in the
//! transcript) is shown to the browser that made the launch, on its result page. Everything
//! meant to be shared or seen by others (the support view, the report downloads, metrics, logs)
//! is built from [`minimized`], which keeps references and ids (needed to diagnose) and drops
//! the rest.
//!
//! At rest in Redis or SQLite these parts are sealed (see `store`), never in clear.

use crate::record::LaunchRecord;

pub use crate::record::WITHHELD;

/// The record without patient or user display data: names and birth dates removed (references
/// kept), id_token claims limited to protocol claims, FHIR response bodies withheld. The copy
/// is made in `record` (nothing else writes a record's parts).
pub fn minimized(r: &LaunchRecord) -> LaunchRecord {
    r.minimized()
}
