//! The launch record is an append-only case file: its fields are private to `src/record/`, so
//! the flows, the web handlers and the views can only read it (getters) or append evidence
//! (`src/record/evidence.rs`); nothing outside `src/record/` assigns a field. The compiler
//! enforces privacy; this test keeps the fields private (a `pub` field would reopen the bag).

use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn struct_in(file: &str, name: &str) -> syn::ItemStruct {
    let text = std::fs::read_to_string(Path::new(ROOT).join(file)).unwrap();
    let parsed = syn::parse_file(&text).unwrap();
    parsed
        .items
        .into_iter()
        .find_map(|i| match i {
            syn::Item::Struct(s) if s.ident == name => Some(s),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no struct {name} in {file}"))
}

#[test]
fn no_launch_record_field_is_visible_outside_src_record() {
    // Defined in the `record` module itself: its private fields are visible to `src/record/*`
    // (its submodules) and nowhere else.
    let s = struct_in("src/record.rs", "LaunchRecord");
    let syn::Fields::Named(fields) = &s.fields else {
        panic!("LaunchRecord has named fields");
    };
    assert!(fields.named.len() >= 25, "{} fields", fields.named.len());
    let open: Vec<String> = fields
        .named
        .iter()
        .filter(|f| !matches!(f.vis, syn::Visibility::Inherited))
        .map(|f| f.ident.as_ref().unwrap().to_string())
        .collect();
    assert!(
        open.is_empty(),
        "LaunchRecord fields visible outside src/record/ (append evidence through src/record/evidence.rs instead): {open:?}"
    );
}
