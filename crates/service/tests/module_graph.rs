//! The service's modules form a DAG: no module reaches, directly or through others, back to
//! itself. References are read from the sources (`crate::module::...`, and names the crate
//! root re-exports from a module, `crate::Name`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn sources() -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let name = path.file_stem()?.to_str()?.to_string();
            (path.extension()? == "rs").then(|| (name, std::fs::read_to_string(&path).unwrap()))
        })
        .collect()
}

/// `Name -> module` for every `pub use module::{...}` / `pub use module::Name` of the root.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let flat = lib.replace('\n', " ");
    for stmt in flat.split(';') {
        let Some(rest) = stmt.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, names)) = rest.split_once("::") else {
            continue;
        };
        for name in names
            .trim_matches(|c| c == '{' || c == '}' || c == ' ')
            .split(',')
        {
            let name = name.trim();
            if !name.is_empty() {
                out.insert(name.to_string(), module.trim().to_string());
            }
        }
    }
    out
}

/// Identifiers that follow `crate::` in `text` (code only: comment lines are skipped).
fn crate_refs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let ident: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if ident.is_empty() {
                // `crate::{a, b}`: take every name in the braces.
                if let Some(group) = rest.strip_prefix('{') {
                    let end = group.find('}').unwrap_or(group.len());
                    out.extend(
                        group[..end]
                            .split(',')
                            .map(|n| n.trim().split("::").next().unwrap_or("").to_string()),
                    );
                }
                continue;
            }
            out.push(ident);
        }
    }
    out
}

#[test]
fn service_modules_form_a_dag() {
    let files = sources();
    let names = reexports(&files["lib"]);
    let modules: BTreeSet<&String> = files.keys().filter(|m| *m != "lib").collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, text) in &files {
        if module == "lib" {
            continue;
        }
        for r in crate_refs(text) {
            let target = if modules.contains(&r) {
                Some(r)
            } else {
                names.get(&r).cloned()
            };
            if let Some(t) = target.filter(|t| t != module) {
                edges.entry(module.clone()).or_default().insert(t);
            }
        }
    }
    // Depth-first search for a back edge, reporting the cycle.
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut cycle = path[at..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in edges.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in &modules {
        if let Some(cycle) = visit(m, &edges, &mut Vec::new(), &mut done) {
            panic!("module cycle: {}", cycle.join(" -> "));
        }
    }
    // The graph is not trivially empty: fetch uses plan, plan uses resolve.
    assert!(edges["fetch"].contains("plan"), "{edges:?}");
    assert!(edges["plan"].contains("resolve"), "{edges:?}");
}
