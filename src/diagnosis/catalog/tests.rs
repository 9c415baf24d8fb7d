//! The catalogue's own rules: ids well formed and unique; each plain sentence names who acts.

use super::*;
use std::collections::HashSet;

#[test]
fn ids_are_unique_and_well_formed() {
    for e in ENTRIES {
        assert_ne!(
            e.id().family(),
            Family::Internal,
            "{}: unknown family",
            e.id
        );
        assert_eq!(e.id().entry(), e);
    }
    let mut seen = HashSet::new();
    for e in ENTRIES {
        assert!(seen.insert(e.id), "duplicate {}", e.id);
        let (section, name) = e.id.split_once('.').unwrap_or(("", ""));
        assert!(!section.is_empty() && !name.is_empty(), "{}", e.id);
        assert!(
            e.id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_')
                && name.starts_with(|c: char| c.is_ascii_lowercase()),
            "{}",
            e.id
        );
    }
}

/// The plain sentence names the party in `acts`: an administrator by name, a sign-in that
/// is not stopped (nobody), or what the user does themselves (try or start again).
#[test]
fn every_plain_sentence_names_who_acts() {
    for e in ENTRIES.iter().chain([&UNKNOWN]) {
        let plain = e.plain.to_ascii_lowercase();
        let has = |s: &str| plain.contains(s);
        let named = match e.acts {
            Actor::Nobody => has("does not stop a sign-in") || has("got its token"),
            Actor::EhrAdmin => has("ehr administrator") || has("ehr's administrator"),
            Actor::AppAdmin => has("app's administrator"),
            Actor::User => has("again") || has("sign in"),
        };
        assert!(named, "{}: {:?} does not name {:?}", e.id, e.plain, e.acts);
    }
    assert_eq!(entry("net.dns").acts, Actor::AppAdmin);
    assert_eq!(entry("launch.invalid_iss").acts, Actor::EhrAdmin);
    assert_eq!(entry("callback.state_reused").acts, Actor::User);
}
