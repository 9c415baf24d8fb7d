//! The layers, read from the code itself: every `src/**/*.rs` is parsed (syn) and every path it
//! uses is collected — `use` trees (groups, globs, renames, `self::`/`super::` resolved against
//! the file's module) and qualified paths in code and in macro arguments. Each rule is a sentence;
//! a violation prints as `file:line uses path (rule)`. Route paths are written once (web/paths.rs;
//! literals in code, in `json!` bodies and in templates' `href`/`action`/`src` are checked),
//! and no module grows past 400 lines.

use std::path::{Path, PathBuf};

use syn::visit::{self, Visit};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// One path used somewhere, resolved to start at `crate` or at an external crate's name.
struct Use {
    file: String,
    line: usize,
    path: Vec<String>,
}

struct Rule {
    sentence: &'static str,
    /// Files under these (a directory or one file, relative to the repository).
    places: &'static [&'static str],
    /// Path prefixes (by whole segments) that code in `places` never uses.
    forbidden: &'static [&'static str],
    /// `file` → prefix pairs that are allowed anyway, each with a reason next to it.
    allowed: &'static [(&'static str, &'static str)],
}

const CORE: &[&str] = &[
    "src/state.rs",
    "src/flow",
    "src/smart",
    "src/diagnosis",
    "src/record.rs",
    "src/record",
    "src/store",
    "src/check",
    "src/monitor",
];

/// Everything that is not the practice EHR: the client.
const CLIENT: &[&str] = &["src"];

const RULES: &[Rule] = &[
    Rule {
        sentence: "protocol code (src/smart/) never uses diagnosis, web, askama or axum",
        places: &["src/smart"],
        forbidden: &["crate::diagnosis", "crate::web", "askama", "axum"],
        allowed: &[],
    },
    Rule {
        sentence: "diagnosis (src/diagnosis/) does no I/O: no network, files, store, HTTP client, app state or web",
        places: &["src/diagnosis"],
        forbidden: &[
            "reqwest",
            "tokio::net",
            "tokio::fs",
            "std::fs",
            "std::net",
            "crate::store",
            "crate::smart::http",
            "crate::state",
            "crate::web",
        ],
        allowed: &[],
    },
    Rule {
        sentence: "the practice EHR (src/practice/) never uses client code",
        places: &["src/practice"],
        forbidden: &[
            "crate::smart",
            "crate::flow",
            "crate::diagnosis",
            "crate::web",
            "crate::check",
            "crate::record",
        ],
        allowed: &[],
    },
    Rule {
        sentence: "the client never uses the practice EHR except where the app mounts it",
        places: CLIENT,
        forbidden: &["crate::practice"],
        allowed: &[
            // The practice EHR's own files are not the client.
            ("src/practice", "crate::practice"),
            // Where the app mounts it: the web state builds the practice EHRs it serves.
            ("src/web/state.rs", "crate::practice"),
            // The gallery's entries are practice EHR scenarios (the faults each client gets).
            ("src/gallery.rs", "crate::practice"),
            ("src/gallery", "crate::practice"),
        ],
    },
    Rule {
        sentence: "the core (state, flow, smart, diagnosis, record, store, check, monitor) uses no web types",
        places: CORE,
        forbidden: &["axum", "crate::web"],
        allowed: &[],
    },
];

/// Files still over 400 lines. The list only shrinks: a file split below the limit must leave it.
const OVER_400: &[&str] = &[];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` → `["crate", "a", "b"]`; `mod.rs`, `lib.rs` and `main.rs` name their directory.
fn module_of(rel: &str) -> Vec<String> {
    let inner = rel
        .strip_prefix("src/")
        .unwrap()
        .strip_suffix(".rs")
        .unwrap();
    let mut out = vec!["crate".to_string()];
    out.extend(inner.split('/').map(str::to_string));
    if matches!(out.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        out.pop();
    }
    out
}

struct Collector<'a> {
    file: &'a str,
    /// The module the code being visited is in (inline `mod` blocks push onto it).
    module: Vec<String>,
    found: Vec<Use>,
    /// String literals, with their lines (for the route-path rule).
    literals: Vec<(usize, String)>,
}

impl Collector<'_> {
    /// `segments` as written at `line`, made absolute: `self`/`super`/`crate` against the
    /// module, this library's own name as `crate`, anything else as written.
    fn push(&mut self, segments: Vec<String>, line: usize) {
        let mut rest = segments.as_slice();
        let mut absolute = match rest.first().map(String::as_str) {
            Some("crate" | "smart_launch_doctor") => {
                rest = &rest[1..];
                vec!["crate".to_string()]
            }
            Some("self" | "super") => self.module.clone(),
            _ => Vec::new(),
        };
        // `self::super::super::x`: each `super` leaves one module.
        while let Some(first) = rest.first().map(String::as_str) {
            match first {
                "self" => {}
                "super" => {
                    absolute.pop();
                }
                _ => break,
            }
            rest = &rest[1..];
        }
        let mut path = absolute;
        path.extend(rest.iter().cloned());
        if path.len() > 1 || path.first().is_some_and(|s| s != "crate") {
            self.found.push(Use {
                file: self.file.to_string(),
                line,
                path,
            });
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut full = prefix.clone();
                // `use a::b::{self}` names `a::b`.
                if n.ident != "self" {
                    full.push(n.ident.to_string());
                }
                self.push(full, n.ident.span().start().line);
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix.clone();
                if r.ident != "self" {
                    full.push(r.ident.to_string());
                }
                self.push(full, r.ident.span().start().line);
            }
            syn::UseTree::Glob(g) => {
                self.push(prefix.clone(), g.star_token.spans[0].start().line);
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        // `use ::x::y` names the external crate `x`: written the same way here.
        self.use_tree(&mut Vec::new(), &u.tree);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if m.content.is_some() {
            self.module.push(m.ident.to_string());
            visit::visit_item_mod(self, m);
            self.module.pop();
        }
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        // Only qualified paths say where something comes from; a bare name is a local or an import.
        if p.segments.len() > 1 || p.leading_colon.is_some() {
            let segments = p.segments.iter().map(|s| s.ident.to_string()).collect();
            let line = p.segments[0].ident.span().start().line;
            self.push(segments, line);
        }
        visit::visit_path(self, p);
    }

    fn visit_lit_str(&mut self, l: &'ast syn::LitStr) {
        self.literals.push((l.span().start().line, l.value()));
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        visit::visit_macro(self, m);
        // Arguments that read as expressions (`format!`, `assert!`, `vec!`, …) are code too.
        let parser = syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
        if let Ok(args) = m.parse_body_with(parser) {
            for e in &args {
                self.visit_expr(e);
            }
        } else {
            // Bodies that are no expression list (`json!({...})`, `json!{...}`): their string
            // literals, read from the tokens.
            self.token_literals(m.tokens.clone());
        }
    }
}

impl Collector<'_> {
    fn token_literals(&mut self, tokens: proc_macro2::TokenStream) {
        for t in tokens {
            match t {
                proc_macro2::TokenTree::Group(g) => self.token_literals(g.stream()),
                proc_macro2::TokenTree::Literal(l) => {
                    if let Ok(s) =
                        syn::parse2::<syn::LitStr>(proc_macro2::TokenTree::Literal(l).into())
                    {
                        self.visit_lit_str(&s);
                    }
                }
                _ => {}
            }
        }
    }
}

/// One `src/` file's paths and string literals.
struct Parsed {
    file: String,
    uses: Vec<Use>,
    literals: Vec<(usize, String)>,
}

fn parse_all() -> Vec<Parsed> {
    let root = Path::new(ROOT);
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let rel = f.strip_prefix(root).unwrap().display().to_string();
            let text = std::fs::read_to_string(&f).unwrap();
            let parsed = syn::parse_file(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
            let mut c = Collector {
                file: &rel,
                module: module_of(&rel),
                found: Vec::new(),
                literals: Vec::new(),
            };
            c.visit_file(&parsed);
            Parsed {
                uses: c.found,
                literals: c.literals,
                file: rel,
            }
        })
        .collect()
}

/// Every path every `src/` file uses, and the files by their repository-relative names.
fn uses() -> (Vec<String>, Vec<Use>) {
    let parsed = parse_all();
    let names = parsed.iter().map(|p| p.file.clone()).collect();
    (names, parsed.into_iter().flat_map(|p| p.uses).collect())
}

/// Where the route paths may be written: their one source and the practice EHR's own router
/// (the other side of the wire).
const ROUTES_SOURCE: &str = "src/web/paths.rs";

#[test]
fn route_paths_are_written_once_in_web_paths_rs() {
    let parsed = parse_all();
    let source = parsed.iter().find(|p| p.file == ROUTES_SOURCE).unwrap();
    // Each route, up to its first `{`: `/launches/{id}` is every literal starting `/launches/`.
    let routes: Vec<&str> = source
        .literals
        .iter()
        .map(|(_, v)| v.split('{').next().unwrap_or(""))
        .filter(|r| r.starts_with('/') && r.len() > 1)
        .collect();
    assert!(routes.contains(&"/launches"), "{routes:?}");
    let mut literals: Vec<(String, usize, String)> = parsed
        .iter()
        .filter(|p| p.file != ROUTES_SOURCE && !under(&p.file, "src/practice"))
        .flat_map(|p| {
            p.literals
                .iter()
                .map(|(line, value)| (p.file.clone(), *line, value.clone()))
        })
        .collect();
    // Templates: every `href="/…"`, `action="/…"` and `src="/…"` (the home page's `"/"` too).
    assert_eq!(
        route_attributes(
            r#"<a href="/gallery">G</a> <button formaction="/check"> <a href="{{ x }}">"#
        ),
        ["/gallery", "/check"]
    );
    literals.extend(template_route_literals());
    // The macro bodies that are no expression list (`json!`) are read too.
    assert!(
        literals
            .iter()
            .any(|(f, _, v)| f == "src/web/status.rs" && v == "every_seconds"),
        "json! bodies are read"
    );
    let mut bad = Vec::new();
    for (file, line, value) in &literals {
        let hit = routes.iter().find(|r| {
            value == *r
                || (r.ends_with('/') && value.starts_with(*r))
                || value.starts_with(&format!("{r}/"))
                || value.starts_with(&format!("{r}?"))
        });
        // In a template, a bare "/" is the home route (in Rust it is too common to flag).
        let hit = hit.or((file.starts_with("templates/") && value == "/").then_some(&"/"));
        if let Some(r) = hit {
            bad.push(format!(
                "{file}:{line} writes {value:?} (route {r}): use web::paths, the one source of route paths"
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The route-like attribute values (`href`, `action`, `src` starting with `/`) of every
/// template, with their files and lines.
fn template_route_literals() -> Vec<(String, usize, String)> {
    let mut files = Vec::new();
    let mut dirs = vec![Path::new(ROOT).join("templates")];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let rel = f.strip_prefix(ROOT).unwrap().display().to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            for value in route_attributes(line) {
                out.push((rel.clone(), i + 1, value));
            }
        }
    }
    out
}

/// The values of `line`'s `href`, `action` (and `formaction`) and `src` attributes that start
/// with `/`.
fn route_attributes(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "action=\"", "src=\""] {
        for (at, _) in line.match_indices(attr) {
            let value = line[at + attr.len()..].split('"').next().unwrap_or("");
            if value.starts_with('/') {
                out.push(value.to_string());
            }
        }
    }
    out
}

fn under(file: &str, place: &str) -> bool {
    file == place || file.starts_with(&format!("{place}/")) || file == format!("{place}.rs")
}

fn starts_with(path: &[String], prefix: &str) -> bool {
    let prefix: Vec<&str> = prefix.split("::").collect();
    path.len() >= prefix.len() && path.iter().zip(&prefix).all(|(a, b)| a == b)
}

fn violations(found: &[Use]) -> Vec<String> {
    let mut out = Vec::new();
    for rule in RULES {
        for u in found {
            if !rule.places.iter().any(|p| under(&u.file, p)) {
                continue;
            }
            for forbidden in rule.forbidden {
                let allowed = rule
                    .allowed
                    .iter()
                    .any(|(place, prefix)| under(&u.file, place) && prefix == forbidden);
                if starts_with(&u.path, forbidden) && !allowed {
                    out.push(format!(
                        "{}:{} uses {} ({})",
                        u.file,
                        u.line,
                        u.path.join("::"),
                        rule.sentence
                    ));
                }
            }
        }
    }
    out.dedup();
    out
}

#[test]
fn layers_protocol_no_diagnosis_diagnosis_no_io_practice_apart_core_no_web() {
    let (files, found) = uses();
    assert!(files.len() > 100, "{} files", files.len());
    // The collector itself: paths through `use` groups, `super::` and code are all seen.
    for (file, path) in [
        ("src/flow/mod.rs", "crate::smart::discovery"),
        ("src/smart/active.rs", "crate::smart::authorize"),
        ("src/web/mod.rs", "axum"),
    ] {
        assert!(
            found
                .iter()
                .any(|u| u.file == file && starts_with(&u.path, path)),
            "the collector saw no {path} in {file}"
        );
    }
    let bad = violations(&found);
    assert!(
        bad.is_empty(),
        "{} layering violation(s):\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn no_src_module_exceeds_400_lines_and_the_list_of_those_still_over_only_shrinks() {
    let root = Path::new(ROOT);
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut problems = Vec::new();
    for f in files {
        let rel = f.strip_prefix(root).unwrap().display().to_string();
        let lines = std::fs::read_to_string(&f).unwrap().lines().count();
        let listed = OVER_400.contains(&rel.as_str());
        if lines > 400 && !listed {
            problems.push(format!(
                "{rel} has {lines} lines: split it to 400 or fewer (the list of files still over never grows)"
            ));
        }
        if lines <= 400 && listed {
            problems.push(format!(
                "{rel} has {lines} lines now: remove it from OVER_400 in tests/it/layering.rs"
            ));
        }
    }
    for listed in OVER_400 {
        if !root.join(listed).exists() {
            problems.push(format!(
                "{listed} no longer exists: remove it from OVER_400 in tests/it/layering.rs"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
