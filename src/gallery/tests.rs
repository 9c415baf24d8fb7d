use super::*;

#[test]
fn entries_have_unique_url_safe_ids_and_catalogue_expectations() {
    let all = entries();
    let mut ids: Vec<&str> = all.iter().map(|e| e.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all.len());
    for e in &all {
        assert!(
            e.id.chars()
                .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit())
        );
        assert!(
            e.expect == "none"
                || crate::diagnosis::catalog::entry(e.expect).id().as_str() == e.expect,
            "{}",
            e.expect
        );
    }
}
