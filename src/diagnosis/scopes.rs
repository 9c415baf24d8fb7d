//! What a SMART scope grants, so that comparisons understand wildcards (`patient/*.read`), the v1
//! and v2 spellings (`.read` = `.rs`, `.write` = `.cud`, `.*` = `.cruds`) and v2 granular scopes
//! (`patient/Observation.rs?category=…`). Pure functions.

/// A clinical-data scope, parsed.
#[derive(Debug, PartialEq, Eq)]
struct Resource<'a> {
    context: &'a str,
    resource: &'a str,
    /// The permissions as a set of `c`, `r`, `u`, `d`, `s` (bit per letter).
    perms: u8,
    query: Option<&'a str>,
}

const LETTERS: &str = "cruds";

fn perms(p: &str) -> Option<u8> {
    match p {
        "read" => return perms("rs"),
        "write" => return perms("cud"),
        "*" => return perms("cruds"),
        _ => {}
    }
    // v2: letters in the order c, r, u, d, s, each at most once.
    let mut bits = 0u8;
    let mut last = None;
    for ch in p.chars() {
        let i = LETTERS.find(ch)?;
        if last.is_some_and(|l| i <= l) {
            return None;
        }
        last = Some(i);
        bits |= 1 << i;
    }
    (bits != 0).then_some(bits)
}

fn parse(scope: &str) -> Option<Resource<'_>> {
    let (body, query) = match scope.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (scope, None),
    };
    let (context, rest) = body.split_once('/')?;
    if !matches!(context, "patient" | "user" | "system") {
        return None;
    }
    let (resource, p) = rest.rsplit_once('.')?;
    if resource.is_empty() {
        return None;
    }
    Some(Resource {
        context,
        resource,
        perms: perms(p)?,
        query,
    })
}

/// Whether `offered` (a granted or supported scope) grants everything `wanted` asks for.
pub fn covers(offered: &str, wanted: &str) -> bool {
    if offered == wanted {
        return true;
    }
    let (Some(o), Some(w)) = (parse(offered), parse(wanted)) else {
        return false;
    };
    o.context == w.context
        && (o.resource == "*" || o.resource == w.resource)
        && w.perms & !o.perms == 0
        && (o.query.is_none() || o.query == w.query)
}

/// Whether two scopes grant the same (`patient/*.read` and `patient/*.rs`).
pub fn equivalent(a: &str, b: &str) -> bool {
    covers(a, b) && covers(b, a)
}

/// Whether any of `offered` covers `wanted`.
pub fn covered(offered: &[&str], wanted: &str) -> bool {
    offered.iter().any(|o| covers(o, wanted))
}

/// A clinical-data scope broken down for display: who (patient/user/system) × resource ×
/// permissions × filter, with its spelling in the other SMART version.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Granular {
    pub scope: String,
    pub context: String,
    pub resource: String,
    /// The permissions as v2 letters in order (`rs`, `cruds`, …).
    pub permissions: String,
    /// Each permission spelled out: create, read, update, delete, search.
    pub allows: Vec<&'static str>,
    /// The v2 query filter (`category=laboratory`), if any.
    pub filter: Option<String>,
    /// `v1` (`.read`, `.write`, `.*`) or `v2` (letters).
    pub version: &'static str,
    /// The same grant in the other version's spelling; `None` when it has none (v1 has no
    /// filters and only read, write or all).
    pub other_version: Option<String>,
}

const WORDS: [&str; 5] = ["create", "read", "update", "delete", "search"];

/// `scope` broken down, or `None` when it is not a clinical-data scope.
pub fn granular(scope: &str) -> Option<Granular> {
    let r = parse(scope)?;
    let letters: String = LETTERS
        .chars()
        .enumerate()
        .filter(|(i, _)| r.perms & (1 << i) != 0)
        .map(|(_, c)| c)
        .collect();
    let raw = scope.split('?').next().unwrap_or(scope);
    let suffix = raw.rsplit('.').next().unwrap_or("");
    let v1 = matches!(suffix, "read" | "write" | "*");
    let base = format!("{}/{}", r.context, r.resource);
    let other_version = if v1 {
        Some(format!("{base}.{letters}"))
    } else if r.query.is_none() {
        match letters.as_str() {
            "rs" => Some(format!("{base}.read")),
            "cud" => Some(format!("{base}.write")),
            "cruds" => Some(format!("{base}.*")),
            _ => None,
        }
    } else {
        None
    };
    Some(Granular {
        scope: scope.to_string(),
        context: r.context.to_string(),
        resource: r.resource.to_string(),
        allows: WORDS
            .iter()
            .enumerate()
            .filter(|(i, _)| r.perms & (1 << i) != 0)
            .map(|(_, w)| *w)
            .collect(),
        permissions: letters,
        filter: r.query.map(str::to_string),
        version: if v1 { "v1" } else { "v2" },
        other_version,
    })
}

#[cfg(test)]
mod granular_tests {
    use super::*;

    #[test]
    fn granular_scopes_are_broken_down_with_their_other_spelling() {
        let g = granular("patient/Observation.rs?category=laboratory").unwrap();
        assert_eq!(
            (
                g.context.as_str(),
                g.resource.as_str(),
                g.permissions.as_str()
            ),
            ("patient", "Observation", "rs")
        );
        assert_eq!(g.allows, ["read", "search"]);
        assert_eq!(g.filter.as_deref(), Some("category=laboratory"));
        assert_eq!((g.version, g.other_version), ("v2", None));
        let v1 = granular("patient/*.read").unwrap();
        assert_eq!(v1.version, "v1");
        assert_eq!(v1.other_version.as_deref(), Some("patient/*.rs"));
        assert_eq!(
            granular("user/Patient.cruds")
                .unwrap()
                .other_version
                .as_deref(),
            Some("user/Patient.*")
        );
        assert!(granular("openid").is_none());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_versions_are_understood() {
        assert!(covers("patient/*.*", "patient/*.read"));
        assert!(covers("patient/*.*", "patient/Observation.rs"));
        assert!(covers("patient/*.read", "patient/Patient.read"));
        assert!(covers("patient/*.rs", "patient/Observation.read"));
        assert!(covers("user/Patient.cruds", "user/Patient.write"));
        assert!(equivalent("patient/*.read", "patient/*.rs"));
        assert!(equivalent(
            "patient/Observation.write",
            "patient/Observation.cud"
        ));
        assert!(!covers("patient/*.read", "patient/*.write"));
        assert!(!covers("patient/*.read", "user/*.read"));
        assert!(!covers("patient/Patient.read", "patient/*.read"));
        assert!(!covers("patient/*.rs", "patient/*.cruds"));
    }

    #[test]
    fn granular_scopes_are_narrower_than_their_resource() {
        let granular = "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory";
        assert!(covers("patient/Observation.rs", granular));
        assert!(covers(granular, granular));
        assert!(!covers(granular, "patient/Observation.rs"));
        assert!(!covers(
            "patient/Observation.rs?category=vital-signs",
            granular
        ));
    }

    #[test]
    fn other_scopes_match_exactly() {
        assert!(covers("openid", "openid"));
        assert!(!covers("launch", "launch/patient"));
        assert!(!covers("patient/*.*", "launch/patient"));
        assert!(
            !covers("patient/*.xyz", "patient/*.read"),
            "not a permission"
        );
        assert!(
            !covers("patient/*.sr", "patient/*.rs"),
            "v2 letters are ordered"
        );
    }
}
