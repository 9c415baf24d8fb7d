//! Evidence in, [`Diagnosis`] out. No I/O here: the protocol code collects evidence, the
//! functions in this module name the failure with a stable catalogue id (see
//! `docs/diagnoses.md`, generated from [`catalog`]) and attach the ranked causes and fixes.

/// A catalogue id checked when compiling: `id!("token.invalid_grant")` is a
/// [`DiagnosisId`]; an id that is not in the catalogue fails to compile.
#[macro_export]
macro_rules! id {
    ($id:literal) => {{
        const ID: $crate::diagnosis::DiagnosisId = $crate::diagnosis::catalog::find($id);
        ID
    }};
}

pub mod assess;
pub mod capabilities;
pub mod catalog;
pub mod catalogue_doc;
pub mod classify;
pub mod client_rules;
pub mod conformance;
pub mod explain;
pub mod introspection;
pub mod launch_context;
pub mod launch_report;
pub mod markdown;
pub mod report;
pub mod scopes;
/// The redacted record of every exchange lives with the protocol code; re-exported for reports.
pub use crate::smart::transcript;
pub mod vendor;

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

pub use catalog::{DiagnosisId, Entry, Family};

/// A diagnosis id; made with [`id!`].
pub type Id = DiagnosisId;

/// `error` stops a launch; `warn` lets it continue and is shown beside the result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warn,
}

/// One labelled fact the diagnosis rests on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub label: String,
    pub value: String,
}

/// A link to the rule that was broken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecRef {
    pub label: &'static str,
    pub url: &'static str,
}

/// A named failure or finding: its catalogue entry (title, plain sentence, ranked causes, fixes,
/// rules: static text, never copied) plus what this case adds (summary, evidence, and causes or
/// fixes specific to it). Serializes with the catalogue text; [`stored`] keeps only this case's part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnosis {
    pub entry: &'static Entry,
    /// What happened in this launch, in one or two sentences.
    pub summary: String,
    pub evidence: Vec<Evidence>,
    /// Causes specific to this case, ranked before the catalogue's.
    pub first_causes: Vec<String>,
    /// Fixes specific to this case, before the catalogue's.
    pub first_fixes: Vec<String>,
    /// Fixes specific to this case, after the catalogue's.
    pub last_fixes: Vec<String>,
    /// A warning finding that the rest of the case shows to be what stopped the launch: it is
    /// an error here, and leads (see [`Diagnosis::raised`]).
    pub raised: bool,
}

impl Diagnosis {
    /// A diagnosis with catalogue id `id` (see [`id!`]), with this launch's `summary`.
    pub fn new(id: DiagnosisId, summary: impl Into<String>) -> Self {
        Diagnosis {
            entry: id.entry(),
            summary: summary.into(),
            evidence: Vec::new(),
            first_causes: Vec::new(),
            first_fixes: Vec::new(),
            last_fixes: Vec::new(),
            raised: false,
        }
    }

    /// Raised to an error: this warning is what stopped the launch in this case (e.g. the
    /// method discovery does not list, once the token endpoint rejected the client). Its plain
    /// sentence is then the catalogue's [`catalog::raised_plain`].
    pub fn raised(mut self) -> Self {
        self.raised = true;
        self
    }

    /// Adds one piece of evidence (empty values are skipped).
    pub fn with(mut self, label: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        if !value.is_empty() {
            self.evidence.push(Evidence {
                label: label.to_string(),
                value,
            });
        }
        self
    }

    /// Puts a cause specific to this case first.
    pub fn with_first_cause(mut self, cause: impl Into<String>) -> Self {
        self.first_causes.insert(0, cause.into());
        self
    }

    /// The stable catalogue id, e.g. `token.bad_client_credentials`.
    pub fn id(&self) -> DiagnosisId {
        self.entry.id()
    }

    pub fn severity(&self) -> Severity {
        if self.raised {
            Severity::Error
        } else {
            self.entry.severity
        }
    }

    pub fn title(&self) -> &'static str {
        self.entry.title
    }

    /// The same in words a clinician can act on, including whom to ask.
    pub fn plain(&self) -> &'static str {
        if self.raised && self.entry.severity == Severity::Warn {
            catalog::raised_plain(self.entry)
        } else {
            self.entry.plain
        }
    }

    /// Likely causes, most frequent first.
    pub fn causes(&self) -> Vec<&str> {
        self.first_causes
            .iter()
            .map(String::as_str)
            .chain(self.entry.causes.iter().copied())
            .collect()
    }

    pub fn fixes(&self) -> Vec<&str> {
        self.first_fixes
            .iter()
            .map(String::as_str)
            .chain(self.entry.fixes.iter().copied())
            .chain(self.last_fixes.iter().map(String::as_str))
            .collect()
    }

    pub fn spec_refs(&self) -> Vec<SpecRef> {
        self.entry
            .rules
            .iter()
            .map(|&(label, url)| SpecRef { label, url })
            .collect()
    }

    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }

    /// A warning that is expected where it arose, shown as a note rather than as a warning and
    /// never counted against a server: plain http to a FHIR base on this machine (the practice
    /// EHR, a local test server).
    /// `error`, `warning` or `note`: the section a page lists it under.
    pub fn shown_as(&self) -> &'static str {
        if self.is_error() {
            "error"
        } else if self.is_note() {
            "note"
        } else {
            "warning"
        }
    }

    pub fn is_note(&self) -> bool {
        self.id() == id!("launch.insecure_iss")
            && self
                .evidence
                .iter()
                .find(|e| e.label == "iss")
                .and_then(|e| url::Url::parse(&e.value).ok())
                .is_some_and(|u| match u.host() {
                    Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                    Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                    Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                    None => false,
                })
    }
}

/// The public JSON shape: catalogue text included.
impl Serialize for Diagnosis {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Diagnosis", 10)?;
        st.serialize_field("id", &self.id())?;
        st.serialize_field("severity", &self.severity())?;
        // How the pages list it: `severity` as catalogued, but plain http to this machine is a note.
        st.serialize_field("shown_as", self.shown_as())?;
        st.serialize_field("title", self.title())?;
        st.serialize_field("summary", &self.summary)?;
        st.serialize_field("plain", self.plain())?;
        st.serialize_field("evidence", &self.evidence)?;
        st.serialize_field("causes", &self.causes())?;
        st.serialize_field("fixes", &self.fixes())?;
        st.serialize_field("spec_refs", &self.spec_refs())?;
        st.end()
    }
}

/// The stored shape: this case's part only; catalogue text is looked up when rendering.
/// Written by `stored::Case` (borrowed), read as this.
#[derive(Deserialize)]
struct Stored {
    #[serde(rename = "i")]
    id: String,
    #[serde(rename = "s")]
    summary: String,
    #[serde(rename = "e", default)]
    evidence: Vec<(String, String)>,
    #[serde(rename = "c", default)]
    first_causes: Vec<String>,
    #[serde(rename = "f", default)]
    first_fixes: Vec<String>,
    #[serde(rename = "l", default)]
    last_fixes: Vec<String>,
    #[serde(rename = "r", default)]
    raised: bool,
}

/// `#[serde(with = "crate::diagnosis::stored")]` on a `Vec<Diagnosis>` kept in a store.
/// An id this build does not know (written by another version) reads as `internal.unknown`.
pub mod stored {
    use super::{Diagnosis, Evidence, Stored, catalog};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Written from borrowed parts: nothing is copied to encode a record.
    pub fn serialize<S: Serializer>(ds: &[Diagnosis], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(ds.iter().map(Case))
    }

    /// A diagnosis in the shape of [`Stored`], borrowed.
    struct Case<'a>(&'a Diagnosis);

    /// Its evidence as `[label, value]` pairs, borrowed.
    struct Pairs<'a>(&'a [Evidence]);

    impl Serialize for Pairs<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(self.0.iter().map(|e| (&e.label, &e.value)))
        }
    }

    impl Serialize for Case<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeStruct;
            let d = self.0;
            let lists = [&d.first_causes, &d.first_fixes, &d.last_fixes];
            // The members written, exactly: MessagePack states a map's length first.
            let len = 2
                + usize::from(!d.evidence.is_empty())
                + lists.iter().filter(|l| !l.is_empty()).count()
                + usize::from(d.raised);
            let mut st = s.serialize_struct("Stored", len)?;
            st.serialize_field("i", d.id().as_str())?;
            st.serialize_field("s", &d.summary)?;
            if d.evidence.is_empty() {
                st.skip_field("e")?;
            } else {
                st.serialize_field("e", &Pairs(&d.evidence))?;
            }
            for (name, list) in ["c", "f", "l"].into_iter().zip(lists) {
                if list.is_empty() {
                    st.skip_field(name)?;
                } else {
                    st.serialize_field(name, list)?;
                }
            }
            if d.raised {
                st.serialize_field("r", &true)?;
            } else {
                st.skip_field("r")?;
            }
            st.end()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Diagnosis>, D::Error> {
        Ok(Vec::<Stored>::deserialize(d)?
            .into_iter()
            .map(|s| Diagnosis {
                entry: catalog::entry(&s.id),
                summary: s.summary,
                evidence: s
                    .evidence
                    .into_iter()
                    .map(|(label, value)| Evidence { label, value })
                    .collect(),
                first_causes: s.first_causes,
                first_fixes: s.first_fixes,
                last_fixes: s.last_fixes,
                raised: s.raised,
            })
            .collect())
    }
}

pub use crate::smart::transcript::excerpt;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Holder {
        #[serde(with = "stored")]
        ds: Vec<Diagnosis>,
    }

    #[test]
    fn stored_diagnoses_keep_the_case_and_drop_the_catalogue_text() {
        let mut d = Diagnosis::new(id!("token.unknown_client"), "The client is unknown.")
            .with("tenant", "ec2458f2")
            .with_first_cause("A provider app used for a patient login");
        d.last_fixes
            .push("Give support the correlation id 1234".into());
        let json = serde_json::to_string(&Holder {
            ds: vec![d.clone()],
        })
        .unwrap();
        assert!(!json.contains(d.title()), "catalogue title stored: {json}");
        // The shape records were written in before (stores and downloads keep it).
        assert_eq!(
            json,
            r#"{"ds":[{"i":"token.unknown_client","s":"The client is unknown.","e":[["tenant","ec2458f2"]],"c":["A provider app used for a patient login"],"l":["Give support the correlation id 1234"]}]}"#
        );
        assert!(!json.contains(d.entry.causes[0]), "catalogue cause stored");
        let back: Holder = serde_json::from_str(&json).unwrap();
        assert_eq!(back.ds, vec![d.clone()]);
        assert_eq!(
            back.ds[0].causes()[0],
            "A provider app used for a patient login"
        );
        assert_eq!(
            back.ds[0].fixes().last(),
            Some(&"Give support the correlation id 1234")
        );
    }

    #[test]
    fn an_id_another_version_wrote_reads_as_internal_unknown() {
        let back: Holder =
            serde_json::from_str(r#"{"ds":[{"i":"future.thing","s":"x"}]}"#).unwrap();
        assert_eq!(back.ds[0].id(), "internal.unknown");
        assert_eq!(back.ds[0].summary, "x");
    }

    #[test]
    fn the_public_json_carries_the_catalogue_text() {
        let d = Diagnosis::new(id!("net.dns"), "x");
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["id"], "net.dns");
        assert_eq!(v["title"], d.entry.title);
        assert_eq!(v["causes"][0], d.entry.causes[0]);
        assert_eq!(v["severity"], "error");
    }
}
