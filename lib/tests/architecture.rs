//! The layering of the library, checked on its source: no module uses one
//! that uses it back (at the crate's top level and among the files of one
//! directory), and `unsafe` appears only in `linux/`. docs/ARCHITECTURE.md
//! describes the layers; this test keeps them true.

// Tests: a panic in a helper here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module a file defines: `scsi/mod.rs` and `scsi.rs` are `scsi`,
/// `lib.rs` is the crate root (empty).
fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut m: Module = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if m.last().is_some_and(|l| l == "mod" || l == "lib") {
        m.pop();
    }
    m
}

/// The code of a file without comments and without its unit tests (a
/// `#[cfg(test)] mod tests` block, by convention at the end).
fn code(text: &str) -> String {
    let end = text.find("#[cfg(test)]\nmod tests").unwrap_or(text.len());
    text[..end]
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a file names through `crate::` or `super::`, each as module
/// segments relative to the crate root, `use` groups (`{a, b::c}`)
/// expanded one level.
fn references(module: &Module, code: &str) -> Vec<Module> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("::") {
        let before = &code[..i];
        let word_start = before
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map_or(0, |p| p + 1);
        let head = &before[word_start..];
        let base: Module = match head {
            "crate" => Vec::new(),
            "super" => {
                // `super` of `a/b.rs` is `a`; of `a/b/mod.rs` also `a`.
                let mut b = module.clone();
                b.pop();
                b
            }
            _ => continue,
        };
        if word_start >= 2 && &code[word_start - 2..word_start] == "::" {
            continue; // `super::super`, `crate` in a path: counted at its head
        }
        let rest = &code[i + 2..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            for item in inner.split(',') {
                let segs = path_segments(item.trim());
                if !segs.is_empty() {
                    out.push([base.clone(), segs].concat());
                }
            }
        } else {
            out.push([base, path_segments(rest)].concat());
        }
    }
    out
}

fn path_segments(s: &str) -> Module {
    let mut segs = Vec::new();
    let mut rest = s;
    loop {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        segs.push(rest[..end].to_string());
        match rest[end..].strip_prefix("::") {
            Some(r) if !r.starts_with('{') => rest = r,
            _ => break,
        }
    }
    segs
}

/// The longest prefix of `path` that is a module.
fn resolve(modules: &BTreeSet<Module>, path: &Module) -> Option<Module> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|m| modules.contains(m))
}

/// The module graph of the library: file module to the modules it names.
fn graph(src: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<Module> = files.iter().map(|f| module_of(src, f)).collect();
    let mut g: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for f in &files {
        let m = module_of(src, f);
        let text = fs::read_to_string(f).unwrap();
        for r in references(&m, &code(&text)) {
            if let Some(t) = resolve(&modules, &r) {
                if t != m {
                    g.entry(m.clone()).or_default().insert(t);
                }
            }
        }
        g.entry(m).or_default();
    }
    g
}

/// Edges between siblings: for an edge a -> b, the children of their
/// deepest common ancestor that contain a and b, when those differ.
fn sibling_edges(g: &BTreeMap<Module, BTreeSet<Module>>) -> BTreeSet<(Module, Module)> {
    let mut out = BTreeSet::new();
    for (a, targets) in g {
        for b in targets {
            let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
            if common < a.len() && common < b.len() {
                out.insert((a[..=common].to_vec(), b[..=common].to_vec()));
            }
        }
    }
    out
}

/// Every cycle's nodes (strongly connected components of more than one).
fn cycles(edges: &BTreeSet<(Module, Module)>) -> Vec<Vec<Module>> {
    let mut adj: BTreeMap<&Module, Vec<&Module>> = BTreeMap::new();
    for (a, b) in edges {
        adj.entry(a).or_default().push(b);
        adj.entry(b).or_default();
    }
    // Nodes reachable from each node, then mutual reachability.
    let reach = |from: &Module| -> BTreeSet<&Module> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&Module> = adj[from].clone();
        while let Some(n) = stack.pop() {
            if seen.insert(n) {
                stack.extend(adj[n].iter().copied());
            }
        }
        seen
    };
    let reaches: BTreeMap<&Module, BTreeSet<&Module>> =
        adj.keys().map(|n| (*n, reach(n))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for n in adj.keys() {
        if done.contains(*n) || !reaches[n].contains(n) {
            continue;
        }
        let comp: Vec<Module> = reaches[n]
            .iter()
            .filter(|m| reaches[*m].contains(n))
            .map(|m| (*m).clone())
            .collect();
        for m in &comp {
            done.insert(m.clone());
        }
        out.push(comp);
    }
    out
}

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_module_uses_one_that_uses_it_back() {
    let g = graph(&src());
    assert!(g.len() > 50, "only {} modules found", g.len());
    let found = cycles(&sibling_edges(&g));
    assert!(
        found.is_empty(),
        "modules that use each other: {:?}",
        found
            .iter()
            .map(|c| c.iter().map(|m| m.join("::")).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    );
}

#[test]
fn the_layers_point_one_way() {
    // Top-level edges that would turn a layer upside down.
    let g = graph(&src());
    let top = |m: &Module| m.first().cloned().unwrap_or_default();
    let forbidden = [
        ("linux", "scsi"),
        ("linux", "block"),
        ("util", "scsi"),
        ("scsi", "paths"),
        ("scsi", "topology"),
        ("topology", "paths"),
        ("topology", "fence"),
        ("paths", "fence"),
        ("block", "qdisk"),
        // vm sits above topology and scsi: nothing below uses it.
        ("scsi", "vm"),
        ("topology", "vm"),
        ("paths", "vm"),
        ("fence", "vm"),
        ("qdisk", "vm"),
        ("heartbeat", "vm"),
        ("vm", "linux"),
    ];
    for (a, targets) in &g {
        for b in targets {
            let pair = (top(a), top(b));
            assert!(
                !forbidden.iter().any(|(x, y)| pair.0 == *x && pair.1 == *y),
                "{} uses {}",
                a.join("::"),
                b.join("::")
            );
        }
    }
}

#[test]
fn the_cycle_finder_finds_a_planted_cycle() {
    let t = tempfile::tempdir().unwrap();
    let w = |p: &str, s: &str| {
        let p = t.path().join(p);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, s).unwrap();
    };
    w("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n");
    w("a/mod.rs", "pub mod x;\npub mod y;\nuse crate::b::Thing;\n");
    w("a/x.rs", "use super::y::{Y, Z};\n");
    w("a/y.rs", "use super::x::X;\n// use crate::c::Nothing;\n");
    w("b.rs", "use crate::c::{self, C};\n");
    w(
        "c.rs",
        "fn f() { crate::b::g() }\n#[cfg(test)]\nmod tests {\n    use crate::a::Q;\n}\n",
    );
    let g = graph(t.path());
    let found = cycles(&sibling_edges(&g));
    let names: Vec<Vec<String>> = found
        .iter()
        .map(|c| c.iter().map(|m| m.join("::")).collect())
        .collect();
    assert_eq!(names, vec![vec!["a::x", "a::y"], vec!["b", "c"]]);
    // Comments and unit tests do not count: c does not use a.
    assert!(!g[&vec!["c".to_string()]].contains(&vec!["a".to_string()]));
    assert!(!g[&vec!["a".to_string(), "y".to_string()]].contains(&vec!["c".to_string()]));
}

#[test]
fn unsafe_code_lives_only_in_the_linux_module() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut with_unsafe = Vec::new();
    for f in &files {
        let text = fs::read_to_string(f).unwrap();
        if code(&text).contains("unsafe {") || code(&text).contains("unsafe fn") {
            with_unsafe.push(module_of(&src(), f).join("::"));
        }
    }
    with_unsafe.sort();
    assert!(!with_unsafe.is_empty(), "the SG_IO call has unsafe code");
    assert!(
        with_unsafe.iter().all(|m| m.starts_with("linux::")),
        "unsafe outside linux: {with_unsafe:?}"
    );
    let lib = fs::read_to_string(src().join("lib.rs")).unwrap();
    assert!(lib.contains("#![deny(unsafe_code)]"));
    assert_eq!(lib.matches("#[allow(unsafe_code)]").count(), 1);
    assert!(lib.contains("#[allow(unsafe_code)]\npub mod linux;"));
}
