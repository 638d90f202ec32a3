//! Tests over the crate's own source text: the module graph has no cycles. (The endpoint
//! table's tests read the sources through [`files`] too.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every Rust source below `src/`, as (path relative to `src/`, text).
pub(crate) fn files() -> Vec<(PathBuf, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.strip_prefix(root).unwrap().to_owned(), text));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out
}

/// The identifier that starts `text`.
pub(crate) fn ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The code of a file without its comments (doc examples name `wecom_kf::`, not `crate::`).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first segment of every path that starts with `prefix` (`crate::x`, `crate::{x, y}`).
fn targets<'a>(code: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    for rest in code.split(prefix).skip(1) {
        match rest.strip_prefix('{') {
            Some(group) => {
                let group = group.split('}').next().unwrap_or("");
                out.extend(group.split(',').map(|p| ident(p.trim())));
            }
            None => out.push(ident(rest)),
        }
    }
    out.retain(|t| !t.is_empty());
    out
}

/// A cycle in `edges`, if there is one.
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut found = path[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if !done.insert(node.to_owned()) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, edges, path, done) {
                return Some(found);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|n| visit(n, edges, &mut Vec::new(), &mut done))
}

/// No two top-level modules use each other, directly or around a loop; nor do two modules
/// side by side in one directory (a child using its parent's items is not counted).
#[test]
fn the_module_graph_has_no_cycles() {
    let files = files();
    // Names the crate root re-exports (`crate::Client`) lead to their module.
    let lib = files
        .iter()
        .find(|(p, _)| p == Path::new("lib.rs"))
        .unwrap();
    let mut reexported = BTreeMap::new();
    for item in code(&lib.1).split("pub use ").skip(1) {
        let module = ident(item);
        let names = item.split(';').next().unwrap_or("");
        for name in names.split(['{', ',', '}']).skip(1) {
            let name = name.trim().rsplit(" as ").next().unwrap_or("").trim();
            if !name.is_empty() {
                reexported.insert(name.to_owned(), module.to_owned());
            }
        }
    }
    // dir → module → the modules beside it that it uses.
    let mut graphs: BTreeMap<PathBuf, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let module_of = |path: &Path| {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        (path.parent().unwrap().to_owned(), stem)
    };
    let siblings: BTreeMap<PathBuf, BTreeSet<String>> =
        files.iter().fold(BTreeMap::new(), |mut all, (path, _)| {
            let mut dir = PathBuf::new();
            for part in path.iter() {
                let name = Path::new(part).file_stem().unwrap().to_string_lossy();
                if !matches!(&*name, "mod" | "lib") {
                    all.entry(dir.clone())
                        .or_default()
                        .insert(name.into_owned());
                }
                dir.push(part);
            }
            all
        });
    for (path, text) in &files {
        let code = code(text);
        let top = path.iter().next().unwrap().to_string_lossy();
        let top = top.trim_end_matches(".rs");
        for target in targets(&code, "crate::") {
            let target = reexported.get(target).map_or(target, String::as_str);
            if target != top && siblings[Path::new("")].contains(target) {
                let graph = graphs.entry(PathBuf::new()).or_default();
                graph
                    .entry(top.to_owned())
                    .or_default()
                    .insert(target.to_owned());
            }
        }
        // Inside each directory on the file's way (`kf`, then `kf/message`): the module the
        // file belongs to there uses a module beside it through `crate::kf::x`, or, from the
        // directory it sits in, through `super::x` (from a `mod.rs`, `super::` is one level up).
        let (parent, stem) = module_of(path);
        let parts: Vec<String> = parent
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .chain((stem != "mod").then(|| stem.clone()))
            .collect();
        for level in 1..parts.len() {
            let dir: PathBuf = parts[..level].iter().collect();
            let module = &parts[level];
            let mut used = targets(&code, &format!("crate::{}::", parts[..level].join("::")));
            if level + 1 == parts.len() {
                used.extend(targets(&code, "super::"));
            }
            for target in used {
                if target != module && siblings.get(&dir).is_some_and(|s| s.contains(target)) {
                    let graph = graphs.entry(dir.clone()).or_default();
                    graph
                        .entry(module.clone())
                        .or_default()
                        .insert(target.to_owned());
                }
            }
        }
    }
    assert!(graphs[Path::new("")].len() > 10, "the graph was read");
    for (dir, graph) in &graphs {
        assert_eq!(
            cycle(graph),
            None,
            "a module cycle in src/{}",
            dir.display()
        );
    }
}
