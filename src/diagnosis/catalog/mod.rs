//! The catalogue: for each stable id, its severity, title, a plain sentence for clinicians, who
//! acts on it, the causes ranked by how often they happen, the fixes and the rules that apply.
//! Ids are a public interface: never renamed. `smart-launch-doctor catalogue` prints them all and
//! `docs/diagnoses.md` is generated from here. Entries live in one file per family, in
//! catalogue order (the order of [`PARTS`], then of each file).

use super::Severity::{self, Error};
use common::ASK_APP_ADMIN;
pub use id::{DiagnosisId, Family};

mod authorize;
mod backend;
mod callback;
mod check;
mod client;
mod common;
mod conformance;
mod discovery;
mod fhir;
mod id;
mod id_token;
mod infrastructure;
mod launch;
mod net;
mod probes;
mod refresh;
mod token;

/// One catalogue entry. Entries are compared by id.
#[derive(Clone, Copy)]
pub struct Entry {
    /// Written here only; read as a typed [`DiagnosisId`] with [`Entry::id`].
    id: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    /// The sentence for clinicians; it names who acts ([`Entry::acts`]).
    pub plain: &'static str,
    /// Who acts on it: the party the plain sentence sends the user to.
    pub acts: Actor,
    /// Most frequent first.
    pub causes: &'static [&'static str],
    pub fixes: &'static [&'static str],
    /// The rules broken: (label, spec URL).
    pub rules: &'static [(&'static str, &'static str)],
}

impl Entry {
    /// The entry's id, typed.
    pub const fn id(&self) -> DiagnosisId {
        DiagnosisId(self.id)
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Entry {}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

/// The families' entries, in catalogue order.
const PARTS: &[&[Entry]] = &[
    net::ENTRIES,
    discovery::ENTRIES,
    launch::ENTRIES,
    authorize::ENTRIES,
    callback::ENTRIES,
    token::ENTRIES,
    id_token::ENTRIES,
    refresh::ENTRIES,
    fhir::ENTRIES,
    check::ENTRIES,
    conformance::ENTRIES,
    infrastructure::ENTRIES,
    backend::ENTRIES,
    client::ENTRIES,
    probes::ENTRIES,
];

const COUNT: usize = {
    let (mut n, mut i) = (0, 0);
    while i < PARTS.len() {
        n += PARTS[i].len();
        i += 1;
    }
    n
};

static ALL: [Entry; COUNT] = {
    let mut out = [FALLBACK; COUNT];
    let (mut k, mut i) = (0, 0);
    while i < PARTS.len() {
        let mut j = 0;
        while j < PARTS[i].len() {
            out[k] = PARTS[i][j];
            k += 1;
            j += 1;
        }
        i += 1;
    }
    out
};

/// Every entry this build knows, in catalogue order.
pub static ENTRIES: &[Entry] = &ALL;

const FALLBACK: Entry = Entry {
    id: "internal.unknown",
    severity: Error,
    title: "Unclassified failure",
    plain: ASK_APP_ADMIN,
    acts: Actor::AppAdmin,
    causes: &[],
    fixes: &[],
    rules: &[],
};
static UNKNOWN: Entry = FALLBACK;

/// The plain sentence of a warning raised to lead a failure (see `Diagnosis::raised`).
pub fn raised_plain(e: &Entry) -> &'static str {
    match e.id().as_str() {
        "discovery.auth_method_unsupported" => {
            "The EHR does not accept the way this app proves who it is. Tell the app's administrator: the app must use an authentication method the EHR supports; the details below are for them."
        }
        _ => ASK_APP_ADMIN,
    }
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The id `id`, evaluated when compiling through [`id!`](crate::id): an id that is not in the
/// catalogue is a compile error, never a runtime surprise.
pub const fn find(id: &str) -> DiagnosisId {
    let mut i = 0;
    while i < ENTRIES.len() {
        if same(ENTRIES[i].id, id) {
            return ENTRIES[i].id();
        }
        i += 1;
    }
    panic!("diagnosis id is not in the catalogue")
}

/// The entry for an id read back from a store; an id this build does not know (written by
/// another version) gets a generic entry rather than a panic.
pub fn entry(id: &str) -> &'static Entry {
    ENTRIES.iter().find(|e| e.id == id).unwrap_or(&UNKNOWN)
}

/// Whether `url` is one of the catalogue's spec URLs: the only link targets a report writes.
pub fn is_spec_url(url: &str) -> bool {
    ENTRIES
        .iter()
        .any(|e| e.rules.iter().any(|&(_, u)| u == url))
}

/// Who acts on a diagnosis: the party its plain sentence sends the user to (an entry's `acts`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// Retry or start again; nobody else is needed.
    User,
    AppAdmin,
    EhrAdmin,
    /// Nothing to do: it does not stop a sign-in; the note is for developers.
    Nobody,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::User => "the user",
            Actor::AppAdmin => "the app's administrator",
            Actor::EhrAdmin => "the EHR's administrator",
            Actor::Nobody => "nobody: it does not stop a sign-in",
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod scan_tests;
