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
        // Expectations are catalogue ids (`id!`); only the working entries expect none.
        assert_eq!(e.expect.is_none(), e.id.starts_with("works-"), "{}", e.id);
    }
}
