//! The layering of docs/ARCHITECTURE.md, checked on the source: which
//! module may import which, that the pure modules touch no IO or clock,
//! that the modules form no import circle, and that files and functions
//! stay short enough to read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each module and the only modules of the crate it may import.
const MAY_IMPORT: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("clock", &[]),
    ("logging", &[]),
    ("rules", &["domain"]),
    ("bus", &["domain"]),
    ("orders", &["domain"]),
    ("store", &["domain"]),
    ("api", &["domain", "bus"]),
    ("auth", &["api", "domain", "store"]),
    ("settings", &["domain", "rules", "bus"]),
    ("console", &["domain", "api", "bus", "settings", "clock"]),
    ("admin", &["auth", "domain", "orders", "store"]),
    ("agent", &["domain", "bus", "orders", "settings"]),
    ("sim", &["domain", "bus", "orders", "store"]),
    (
        "worker",
        &[
            "domain", "rules", "bus", "api", "auth", "store", "orders", "admin", "clock",
        ],
    ),
    ("dump", &["domain", "api", "bus", "store", "console"]),
];

/// What a pure module never names: IO, threads, processes, the network,
/// the terminal, the environment or a clock.
const IMPURE: &[&str] = &[
    "tokio::",
    "sqlx::",
    "async_nats",
    "reqwest",
    "ratatui",
    "crossterm",
    "std::fs",
    "std::net",
    "std::process",
    "std::env",
    "std::thread",
    "Utc::now",
    "Local::now",
    "SystemTime::now",
    "Instant::now",
];
const PURE: &[&str] = &["domain", "rules"];

/// The longest file in `src/`, in lines.
const MAX_FILE_LINES: usize = 700;
/// The longest function, in lines.
const MAX_FN_LINES: usize = 120;
/// Functions that are declarative tables (a row a setting or a metric),
/// exempt from the length limit: every key of the settings file with its
/// check, and every metric of `/metrics` with its help text.
const TABLES: &[(&str, &str)] = &[
    ("src/settings/config.rs", "apply"),
    ("src/worker/http.rs", "metrics_text"),
];

fn sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src").as_path(),
        &mut out,
    );
    out.sort();
    out
}

/// `src/console/views/map.rs` → `console`; `src/lib.rs` → `lib`.
fn module_of(path: &Path) -> String {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rel = path.strip_prefix(&src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

fn relative(path: &Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

/// The code of a file without comments and without the items marked
/// `#[cfg(test)]` (unit tests may use fixtures from anywhere).
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("//") {
            continue;
        }
        if t.starts_with("#[cfg(test)]") {
            // Skip the item: up to its `;`, or to the brace closing it.
            let mut depth = 0i32;
            for item in lines.by_ref() {
                depth += item.matches('{').count() as i32 - item.matches('}').count() as i32;
                if depth <= 0 && (item.contains('}') || item.trim_end().ends_with(';')) {
                    break;
                }
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The crate's modules a piece of code names (`crate::x`).
fn imports(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let tail = &rest[i + "crate::".len()..];
        let name: String = tail
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
        rest = tail;
    }
    out
}

fn graph() -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let mut g: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for path in sources() {
        let module = module_of(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        for dep in imports(&code(&text)) {
            if dep != module {
                g.entry(module.clone())
                    .or_default()
                    .entry(dep)
                    .or_default()
                    .push(relative(&path));
            }
        }
    }
    g
}

#[test]
fn every_module_imports_only_the_layers_below_it() {
    let g = graph();
    let mut broken = Vec::new();
    for (module, allowed) in MAY_IMPORT {
        for (dep, files) in g.get(*module).into_iter().flatten() {
            if !allowed.contains(&dep.as_str()) {
                broken.push(format!("{module} → {dep} (in {})", files.join(", ")));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "layering rules of docs/ARCHITECTURE.md broken:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_pure_modules_touch_no_io_and_read_no_clock() {
    let mut found = Vec::new();
    for path in sources() {
        if !PURE.contains(&module_of(&path).as_str()) {
            continue;
        }
        let code = code(&std::fs::read_to_string(&path).unwrap());
        for word in IMPURE {
            if code.contains(word) {
                found.push(format!("{} names {word}", relative(&path)));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_modules_form_no_import_circle() {
    let g = graph();
    // Depth-first search for a back edge, reporting the circle.
    fn visit(
        g: &BTreeMap<String, BTreeMap<String, Vec<String>>>,
        node: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.to_string());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for dep in g.get(node).map(|d| d.keys()).into_iter().flatten() {
            if let Some(c) = visit(g, dep, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in g.keys() {
        if let Some(circle) = visit(&g, node, &mut Vec::new(), &mut done) {
            panic!("import circle: {}", circle.join(" → "));
        }
    }
}

#[test]
fn every_file_is_short_enough_to_read() {
    let long: Vec<_> = sources()
        .into_iter()
        .filter_map(|p| {
            let n = std::fs::read_to_string(&p).unwrap().lines().count();
            (n > MAX_FILE_LINES).then(|| format!("{} has {n} lines", relative(&p)))
        })
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_FILE_LINES} lines:\n{}",
        long.join("\n")
    );
}

/// Each function of a file and its length in lines: from its `fn` line
/// to the closing brace at the same indentation.
fn functions(text: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        let indent = &line[..line.len() - t.len()];
        let t = t
            .trim_start_matches("pub(crate) ")
            .trim_start_matches("pub(super) ")
            .trim_start_matches("pub ")
            .trim_start_matches("const ")
            .trim_start_matches("async ");
        let Some(sig) = t.strip_prefix("fn ") else {
            continue;
        };
        let name: String = sig
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        // A declaration without a body (in a trait) ends with `;` before
        // any `{`.
        let Some(open) = lines[i..]
            .iter()
            .position(|l| l.contains('{') || l.trim_end().ends_with(';'))
        else {
            continue;
        };
        if !lines[i + open].contains('{') {
            continue;
        }
        if let Some(end) = lines[i..]
            .iter()
            .position(|l| l.starts_with(indent) && l[indent.len()..].starts_with('}'))
        {
            out.push((name, end + 1));
        }
    }
    out
}

#[test]
fn every_function_is_short_enough_to_read() {
    let mut long = Vec::new();
    for path in sources() {
        let file = relative(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        for (name, n) in functions(&text) {
            let table = TABLES.iter().any(|(f, t)| *f == file && *t == name);
            if n > MAX_FN_LINES && !table {
                long.push(format!("{file}: fn {name} has {n} lines"));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines (split them, or list a declarative table in TABLES):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_checks_see_a_circle_a_broken_rule_and_a_long_function() {
    // The checks themselves, on made-up code.
    assert_eq!(
        imports("use crate::store::Scope;\nlet x = crate::worker::api::serve;"),
        BTreeSet::from(["store".to_string(), "worker".to_string()])
    );
    assert!(imports(&code("// crate::worker\n#[cfg(test)]\nuse crate::sim;")).is_empty());
    let after_tests = "#[cfg(test)]\nmod tests {\n    use crate::sim;\n}\nuse crate::worker;\n";
    assert_eq!(
        imports(&code(after_tests)),
        BTreeSet::from(["worker".to_string()])
    );
    let body = format!("fn long() {{\n{}}}\n", "    x();\n".repeat(130));
    assert_eq!(functions(&body), vec![("long".to_string(), 132)]);
    assert!(functions("trait T {\n    fn f(&self)\n        -> u8;\n}\n").is_empty());
}
