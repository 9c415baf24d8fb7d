use super::*;
use serde_json::json;

fn nested(depth: usize, zeros: usize) -> String {
    let zeros = vec!["0"; zeros].join(",");
    format!("{}{zeros}{}", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn small_bodies_print_as_serde_json_prints_them() {
    let v = json!({"a": [1, 2.5, {"b": null, "c": true}], "d": {}, "e": [], "f": "x\"y"});
    let expected = serde_json::to_string_pretty(&v).unwrap();
    assert_eq!(
        pretty_body(&v.to_string(), 1 << 20, None),
        Some(expected.clone())
    );
    assert_eq!(pretty_value(&v, 1 << 20), expected);
}

#[test]
fn nested_arrays_stop_at_the_cap_and_say_how_much_was_cut() {
    // 800 KB that serde_json would pretty-print into about 100 MB.
    let body = nested(120, 400_000);
    let started = std::time::Instant::now();
    let out = pretty_body(&body, 16 * 1024, None).unwrap();
    let took = started.elapsed();
    assert!(out.len() < 16 * 1024 + 200, "{}", out.len());
    assert!(out.starts_with("[\n  [\n    ["));
    // Parsing stops with the text: far less than the whole body's parse even unoptimised.
    assert!(took < std::time::Duration::from_millis(100), "{took:?}");
    let (kept, note) = out.rsplit_once("\n… [").unwrap();
    assert!(kept.len() <= 16 * 1024 && kept.len() > 15 * 1024);
    // The zeros shown and the zeros cut add up to the body.
    let shown = kept.matches('0').count();
    let (cut, total) = note
        .strip_prefix(&format!("cut after {} bytes pretty-printed: ", kept.len()))
        .and_then(|n| n.strip_suffix(" bytes not shown]"))
        .and_then(|n| n.split_once(" of the body's "))
        .unwrap();
    assert_eq!(total, body.len().to_string());
    let cut: usize = cut.parse().unwrap();
    let accounted = shown * 2 + 120 + cut;
    assert!(
        accounted.abs_diff(body.len()) <= 4,
        "{accounted} for {note}"
    );
}

#[test]
fn a_body_that_grows_past_the_cap_only_at_its_end_counts_what_was_cut() {
    let v = json!({"a": "x".repeat(100), "b": [1, 2, 3]});
    let full = serde_json::to_string_pretty(&v).unwrap();
    let out = pretty_body(&v.to_string(), 100, None).unwrap();
    assert!(out.starts_with(&full[..90]), "{out}");
    assert!(out.contains(" bytes"), "{out}");
}

#[test]
fn a_large_value_on_a_page_is_cut_with_a_note() {
    let v: Value = serde_json::from_str(&nested(50, 20_000)).unwrap();
    let out = pretty_value(&v, 4096);
    assert!(out.len() < 4096 + 64, "{}", out.len());
    assert!(out.starts_with("[\n  ["), "{out}");
    assert!(out.ends_with(" bytes pretty-printed]"), "{out}");
}

#[test]
fn deeper_than_the_recursion_limit_is_not_json_here() {
    assert_eq!(pretty_body(&nested(10_000, 1), 1024, None), None);
    assert_eq!(pretty_body("{\"a\": 1} trailing", 1024, None), None);
}

#[test]
fn members_are_redacted_while_printing() {
    let redact = |k: &str, _: &str| (k == "access_token").then(|| "[gone]".to_string());
    let out = pretty_body(
        r#"{"access_token":"AT1","x":{"access_token":"AT2","n":1},"y":["AT3"]}"#,
        1024,
        Some(&redact),
    )
    .unwrap();
    assert!(!out.contains("AT1") && !out.contains("AT2"), "{out}");
    assert!(
        out.contains("AT3"),
        "array items have no member name: {out}"
    );
}

#[test]
fn named_members_are_read_and_the_rest_skipped() {
    let body = format!(
        r#"{{"resourceType":"Patient","junk":{},"name":[{{"text":"Amy"}}]}}"#,
        nested(100, 1000)
    );
    let m = json_members(&body, &["resourceType", "name"]).unwrap();
    assert_eq!(
        Value::Object(m),
        json!({"resourceType": "Patient", "name": [{"text": "Amy"}]})
    );
    assert_eq!(json_members(&nested(100, 1000), &["resourceType"]), None);
    assert_eq!(json_members("{\"a\":1} x", &["a"]), None);
    assert_eq!(
        json_members("{\"a\":[1,}", &["b"]),
        None,
        "the rest is still checked"
    );
}

#[test]
fn text_is_cut_on_a_character_boundary() {
    let out = cap_text(&"é".repeat(100), 11);
    assert!(out.starts_with("ééééé\n… [190 bytes cut"), "{out}");
    assert_eq!(cap_text("short", 10), "short");
}

#[test]
fn shrinking_cuts_the_large_member_and_keeps_the_small_ones() {
    let junk: Value = serde_json::from_str(&nested(50, 50_000)).unwrap();
    let mut v = json!({"access_token": "a".repeat(3000), "patient": "p1", "junk": junk});
    shrink(&mut v, 16 * 1024);
    assert!(json_len(&v) <= 16 * 1024 + 64, "{}", json_len(&v));
    assert_eq!(v["access_token"].as_str().map(str::len), Some(3000));
    assert_eq!(v["patient"], "p1");
    let mut long = json!(["x".repeat(100_000)]);
    shrink(&mut long, 1000);
    assert!(json_len(&long) <= 1100, "{}", json_len(&long));
    assert!(long[0].as_str().unwrap().ends_with("bytes cut]"));
}
