//! The layers hold: no module of any crate imports one that imports it back (at every level of the
//! module tree, among siblings), and each crate's top-level modules import only those before them
//! in the order its `lib.rs` declares (the line `Modules in layer order…`).
//!
//! Cargo already refuses an import upward between crates (`cybermed-core` cannot name the GraphQL
//! crate); this test does the same inside each crate, by reading the sources: `crate::`, `super::`
//! and `self::` paths, in `use` items (groups included) and in expressions, outside comments and
//! strings. A path that names an item of an enclosing module (not a module) is no import between
//! siblings.
use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// One crate's modules (as paths from the crate root) and the imports between them.
struct Crate {
    name: String,
    root: PathBuf,
    modules: BTreeSet<Vec<String>>,
    /// (from module, to path as written, file)
    references: Vec<(Vec<String>, Vec<String>, String)>,
}

const CRATES: [(&str, &str); 4] = [
    ("cybermed", "src/lib.rs"),
    ("cybermed-core", "crates/core/src/lib.rs"),
    ("cybermed-graphql", "crates/graphql/src/lib.rs"),
    ("cybermed-interop", "crates/interop/src/lib.rs"),
];

/// `text` without comments, string and character literals, so that a path in a doc comment or a
/// message is not read as an import; other non-ASCII bytes become spaces (no path holds one).
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if b[i] == b'r' && matches!(b.get(i + 1), Some(b'"' | b'#')) && (i == 0 || !is_ident(b[i - 1])) {
            // A raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            j += 1;
            let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
            while j < b.len() && !b[j..].starts_with(&close) {
                j += 1;
            }
            i = j + close.len();
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            i += 3;
            out.push_str("' '");
        } else if b[i] == b'\'' && b.get(i + 1) == Some(&b'\\') {
            i += 2;
            while i < b.len() && b[i] != b'\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(if b[i].is_ascii() { b[i] as char } else { ' ' });
            i += 1;
        }
    }
    out
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Every path starting with `crate`, `super` or `self` in `code`, with `use` groups expanded
/// (`use crate::{a, b::{c, d}}` gives `crate::a`, `crate::b::c`, `crate::b::d`).
fn paths(code: &str) -> Vec<Vec<String>> {
    let b = code.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = (i == 0 || !is_ident(b[i - 1]) && b[i - 1] != b':')
            && ["crate::", "super::", "self::"].iter().any(|p| code[i..].starts_with(p));
        if !starts {
            i += 1;
            continue;
        }
        let (end, mut expanded) = path_at(code, i);
        found.append(&mut expanded);
        i = end.max(i + 1);
    }
    found
}

/// The path (or `use` tree) starting at `i`: where it ends, and the paths it names.
fn path_at(code: &str, mut i: usize) -> (usize, Vec<Vec<String>>) {
    let b = code.as_bytes();
    let mut prefix = Vec::new();
    loop {
        let start = i;
        while i < b.len() && is_ident(b[i]) {
            i += 1;
        }
        if i > start {
            prefix.push(code[start..i].to_owned());
        }
        let rest = code[i..].trim_start();
        let skipped = code.len() - i - rest.len();
        if rest.starts_with("::{") {
            i += skipped + 3;
            let mut out = Vec::new();
            loop {
                let inner = code[i..].trim_start();
                i += code.len() - i - inner.len();
                if inner.starts_with('}') {
                    return (i + 1, out);
                }
                let (end, sub) = path_at(code, i);
                for s in sub {
                    let mut p = prefix.clone();
                    p.extend(s);
                    out.push(p);
                }
                i = end;
                let after = code[i..].trim_start();
                i += code.len() - i - after.len();
                if after.starts_with(',') {
                    i += 1;
                } else if !after.starts_with('}') {
                    // ` as name` and the like: skip to the next separator.
                    while i < b.len() && b[i] != b',' && b[i] != b'}' {
                        i += 1;
                    }
                }
            }
        } else if rest.starts_with("::") && rest[2..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            i += skipped + 2;
        } else {
            return (i, vec![prefix]);
        }
    }
}

/// The module path of a source file, from the crate's `src`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap_or_default();
    match last.as_str() {
        "lib.rs" | "main.rs" | "mod.rs" => {}
        other => parts.push(other.trim_end_matches(".rs").to_owned()),
    }
    parts
}

/// Turns a path as written in module `from` into a path from the crate root (`None`: another crate).
fn absolute(from: &[String], path: &[String]) -> Option<Vec<String>> {
    let mut here = from.to_vec();
    let mut segments = path.iter().peekable();
    match segments.peek().map(|s| s.as_str()) {
        Some("crate") => {
            here.clear();
            segments.next();
        }
        Some("super" | "self") => {}
        _ => return None,
    }
    while let Some(s) = segments.peek() {
        match s.as_str() {
            "super" => {
                here.pop();
                segments.next();
            }
            "self" => {
                segments.next();
            }
            _ => break,
        }
    }
    here.extend(segments.cloned());
    Some(here)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn read_crate(name: &str, lib: &str) -> Crate {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(lib);
    let src = root.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    // The binary's `main.rs` is a crate of its own over the library.
    files.retain(|f| !(f.file_name().is_some_and(|n| n == "main.rs") && f.parent() == Some(src.as_path())));
    let mut modules = BTreeSet::new();
    let sources: Vec<(Vec<String>, String, String)> = files
        .iter()
        .map(|f| {
            let module = module_of(&src, f);
            for i in 0..=module.len() {
                modules.insert(module[..i].to_vec());
            }
            (module, code_only(&fs::read_to_string(f).unwrap_or_default()), f.display().to_string())
        })
        .collect();
    // Re-exports (`pub use`): a path through one is an import of what it names.
    let mut aliases: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for (module, code, _) in &sources {
        for (at, _) in code.match_indices("pub use ").chain(code.match_indices("pub(crate) use ")) {
            let start = at + code[at..].find("use ").map_or(0, |i| i + 4);
            for p in path_at(code, start).1 {
                let resolved = absolute(module, &p).or_else(|| {
                    let child: Vec<String> = module.iter().chain(p.first()).cloned().collect();
                    modules.contains(&child).then(|| module.iter().chain(&p).cloned().collect())
                });
                if let (Some(target), Some(last)) = (resolved, p.last()) {
                    let mut name = module.clone();
                    name.push(last.clone());
                    if name != target {
                        aliases.insert(name, target);
                    }
                }
            }
        }
    }
    let unalias = |mut path: Vec<String>| {
        for _ in 0..8 {
            let Some(k) = (1..=path.len()).find(|k| aliases.contains_key(&path[..*k])) else { break };
            let mut target = aliases[&path[..k]].clone();
            target.extend_from_slice(&path[k..]);
            path = target;
        }
        path
    };
    let mut references = Vec::new();
    for (module, code, file) in &sources {
        // Inline modules (`mod tests { … }`) are read as part of their file's module.
        for p in paths(code) {
            if let Some(abs) = absolute(module, &p) {
                references.push((module.clone(), unalias(abs), file.clone()));
            }
        }
    }
    Crate { name: name.to_owned(), root, modules, references }
}

/// The imports between siblings: for each parent module, `child -> child` with a file as witness.
type Edges = BTreeMap<Vec<String>, BTreeMap<(String, String), String>>;

fn sibling_edges(c: &Crate) -> Edges {
    let mut edges: Edges = BTreeMap::new();
    for (from, to, file) in &c.references {
        let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
        if common >= from.len() || common >= to.len() {
            continue; // an ancestor's item, or a descendant: no import between siblings
        }
        let parent = from[..common].to_vec();
        let target = to[..=common].to_vec();
        if !c.modules.contains(&target) {
            continue; // an item of the common ancestor, not a module
        }
        edges.entry(parent).or_default().entry((from[common].clone(), to[common].clone())).or_insert(file.clone());
    }
    edges
}

/// A cycle among `edges`, if any, as the modules along it.
fn find_cycle(edges: &BTreeMap<(String, String), String>) -> Option<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges.keys() {
        next.entry(a).or_default().push(b);
    }
    fn visit<'a>(
        n: &'a str,
        next: &BTreeMap<&'a str, Vec<&'a str>>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        state.insert(n, 1);
        stack.push(n);
        for &m in next.get(n).map(Vec::as_slice).unwrap_or(&[]) {
            match state.get(m) {
                Some(1) => {
                    let at = stack.iter().position(|s| *s == m).unwrap_or(0);
                    let mut cycle: Vec<String> = stack[at..].iter().map(|s| (*s).to_owned()).collect();
                    cycle.push(m.to_owned());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(m, next, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(n, 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in next.keys() {
        if !state.contains_key(n)
            && let Some(c) = visit(n, &next, &mut state, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

/// The order a crate's `lib.rs` declares: the names in backquotes on the line after
/// `Modules in layer order`, up to the first one followed by a full stop (the list may wrap).
fn declared_order(c: &Crate) -> Vec<String> {
    let text = fs::read_to_string(&c.root).unwrap_or_default();
    let Some(at) = text.find("Modules in layer order") else { return Vec::new() };
    let rest = &text[at..];
    let colon = rest.find(':').map_or(0, |i| i + 1);
    let end = rest[colon..].find("`.").map_or(rest.len(), |i| colon + i + 1);
    rest[colon..end].split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

/// SeaORM's entities name each other in their `Relation` enums and `Related` impls (both ends of a
/// relation, as SeaORM requires): the one group of siblings that may import each other.
const MUTUAL: [(&str, &str); 1] = [("cybermed-core", "db::entities")];

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let mut failures = Vec::new();
    for (name, lib) in CRATES {
        let c = read_crate(name, lib);
        assert!(c.modules.len() > 2 && !c.references.is_empty(), "{}: read nothing; is the path right?", c.name);
        for (parent, edges) in sibling_edges(&c) {
            if MUTUAL.contains(&(name, parent.join("::").as_str())) {
                continue;
            }
            if std::env::var_os("LAYERS_DUMP").is_some() {
                for (a, b) in edges.keys() {
                    eprintln!("{} {}: {a} -> {b}", c.name, parent.join("::"));
                }
            }
            if let Some(cycle) = find_cycle(&edges) {
                let witnesses: Vec<String> = cycle
                    .windows(2)
                    .map(|w| format!("{} -> {} ({})", w[0], w[1], edges[&(w[0].clone(), w[1].clone())]))
                    .collect();
                failures.push(format!(
                    "{}: a cycle among the modules of `{}`: {}",
                    c.name,
                    if parent.is_empty() { "crate".to_owned() } else { parent.join("::") },
                    witnesses.join(", ")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "import cycles:\n{}", failures.join("\n"));
}

#[test]
fn top_level_modules_import_only_those_declared_below_them() {
    let mut failures = Vec::new();
    for (name, lib) in CRATES {
        let c = read_crate(name, lib);
        let order = declared_order(&c);
        let top: BTreeSet<String> = c.modules.iter().filter(|m| m.len() == 1).map(|m| m[0].clone()).collect();
        let listed: BTreeSet<String> = order.iter().cloned().collect();
        assert_eq!(listed, top, "{}: lib.rs's layer order must name every top-level module once", c.name);
        let rank = |m: &str| order.iter().position(|o| o == m);
        if let Some(edges) = sibling_edges(&c).get(&Vec::new()) {
            for ((from, to), file) in edges {
                if rank(from) <= rank(to) {
                    failures.push(format!("{}: `{from}` imports `{to}`, declared above it ({file})", c.name));
                }
            }
        }
    }
    assert!(failures.is_empty(), "imports against the declared order:\n{}", failures.join("\n"));
}

#[test]
fn the_reader_sees_groups_supers_and_not_comments() {
    let code = code_only(
        "use crate::{a::{b, c as d}, e};\n// crate::x::y\nlet s = \"crate::q\"; super::super::f::g(); self::h::i;",
    );
    let got: Vec<String> = paths(&code).iter().map(|p| p.join("::")).collect();
    assert_eq!(got, ["crate::a::b", "crate::a::c", "crate::e", "super::super::f::g", "self::h::i"]);
    let from = vec!["m".to_owned(), "n".to_owned()];
    assert_eq!(absolute(&from, &["super".into(), "super".into(), "f".into()]), Some(vec!["f".to_owned()]));
    let mut edges = BTreeMap::new();
    edges.insert(("a".to_owned(), "b".to_owned()), String::new());
    edges.insert(("b".to_owned(), "a".to_owned()), String::new());
    assert_eq!(find_cycle(&edges), Some(vec!["a".to_owned(), "b".to_owned(), "a".to_owned()]));
}
