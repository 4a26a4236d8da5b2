//! Golden JSON files: a program's `--json` output (or a library value it
//! serializes) compared with a file kept in the repository, so that a
//! renamed, added or removed field, or a changed value, fails a test.
//!
//! Both sides are flattened to their key paths (`devices[0].paths[1].path`)
//! with the value at each leaf (scalars, and empty arrays and objects).
//! A mismatch names the key paths that were added, removed or changed.
//! With `FENCEKIT_BLESS=1` in the environment, [`check`] writes the file
//! instead (review the diff before committing it).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

/// The leaves of `v`, by key path.
pub fn flatten(v: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    walk(v, String::new(), &mut out);
    out
}

fn walk(v: &Value, path: String, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(x, p, out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, x) in a.iter().enumerate() {
                walk(x, format!("{path}[{i}]"), out);
            }
        }
        _ => {
            out.insert(if path.is_empty() { "$".into() } else { path }, v.clone());
        }
    }
}

/// What differs between a golden value and the actual one.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Mismatch {
    /// Key paths only in the actual value.
    pub added: Vec<String>,
    /// Key paths only in the golden value.
    pub removed: Vec<String>,
    /// Key paths in both, with the golden and the actual value.
    pub changed: Vec<(String, Value, Value)>,
}

impl Mismatch {
    /// Whether the two values are the same.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::new();
        for p in &self.added {
            let _ = writeln!(s, "  added:   {p}");
        }
        for p in &self.removed {
            let _ = writeln!(s, "  removed: {p}");
        }
        for (p, want, got) in &self.changed {
            let _ = writeln!(s, "  changed: {p}: {want} -> {got}");
        }
        f.write_str(&s)
    }
}

/// Compares `actual` with `golden` by key paths and values.
pub fn compare(golden: &Value, actual: &Value) -> Mismatch {
    let (g, a) = (flatten(golden), flatten(actual));
    let mut m = Mismatch::default();
    for (p, av) in &a {
        match g.get(p) {
            None => m.added.push(p.clone()),
            Some(gv) if gv != av => m.changed.push((p.clone(), gv.clone(), av.clone())),
            Some(_) => {}
        }
    }
    m.removed = g.keys().filter(|p| !a.contains_key(*p)).cloned().collect();
    m
}

/// Replaces the value of every object member named in `keys`, at any
/// depth, with `"<masked>"`: for values that change from run to run
/// (times, ages). The key paths stay.
pub fn mask(v: &mut Value, keys: &[&str]) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if keys.contains(&k.as_str()) {
                    *x = Value::String("<masked>".into());
                } else {
                    mask(x, keys);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| mask(x, keys)),
        _ => {}
    }
}

/// Whether `FENCEKIT_BLESS=1` asks for golden files to be rewritten.
pub fn blessing() -> bool {
    std::env::var("FENCEKIT_BLESS").as_deref() == Ok("1")
}

/// Panics unless `actual` matches the golden file `file`, naming the key
/// paths that differ; with `FENCEKIT_BLESS=1` writes `actual` to `file`.
#[track_caller]
pub fn check(file: &Path, actual: &Value) {
    if blessing() {
        let text = serde_json::to_string_pretty(actual).expect("serialize JSON") + "\n";
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).expect("create the golden directory");
        }
        std::fs::write(file, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", file.display()));
        return;
    }
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| {
        panic!(
            "golden file {}: {e} (FENCEKIT_BLESS=1 writes it)",
            file.display()
        )
    });
    let golden: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("golden file {}: {e}", file.display()));
    let m = compare(&golden, actual);
    if !m.is_empty() {
        panic!(
            "JSON differs from the golden file {}:\n{m}actual:\n{}\n\
             (if the change is meant, rerun with FENCEKIT_BLESS=1 and review the diff)",
            file.display(),
            serde_json::to_string_pretty(actual).unwrap_or_default()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_paths_of_nested_values() {
        let v = json!({"a": [{"b": 1}, {"c": []}], "d": {}, "e": null});
        let keys: Vec<String> = flatten(&v).into_keys().collect();
        assert_eq!(keys, ["a[0].b", "a[1].c", "d", "e"]);
        assert_eq!(flatten(&json!(3)).into_keys().collect::<Vec<_>>(), ["$"]);
    }

    #[test]
    fn a_renamed_field_is_removed_and_added() {
        let golden = json!({"devices": [{"device": "/dev/sdb", "ok": true}]});
        let actual = json!({"devices": [{"dev": "/dev/sdb", "ok": false}]});
        let m = compare(&golden, &actual);
        assert_eq!(m.added, ["devices[0].dev"]);
        assert_eq!(m.removed, ["devices[0].device"]);
        assert_eq!(
            m.changed,
            [("devices[0].ok".to_string(), json!(true), json!(false))]
        );
        let text = m.to_string();
        assert!(text.contains("added:   devices[0].dev"), "{text}");
        assert!(text.contains("removed: devices[0].device"), "{text}");
        assert!(compare(&golden, &golden).is_empty());
    }

    #[test]
    fn masked_values_keep_their_key_paths() {
        let mut v = json!({"now": 5, "nodes": [{"age": 3, "id": 1}]});
        mask(&mut v, &["now", "age"]);
        assert_eq!(
            v,
            json!({"now": "<masked>", "nodes": [{"age": "<masked>", "id": 1}]})
        );
    }

    #[test]
    #[should_panic(expected = "removed: x")]
    fn check_names_the_difference() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("g.json");
        std::fs::write(&f, "{\"x\": 1}\n").unwrap();
        if blessing() {
            panic!("removed: x (not checked while blessing)");
        }
        check(&f, &json!({"y": 1}));
    }
}
