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
    ("inventory", &["domain"]),
    ("api", &["domain", "bus"]),
    ("auth", &["api", "domain", "store"]),
    ("settings", &["domain", "rules", "bus"]),
    ("console", &["domain", "api", "bus", "settings", "clock"]),
    ("admin", &["auth", "domain", "inventory", "orders", "store"]),
    ("agent", &["domain", "bus", "orders", "settings"]),
    ("sim", &["domain", "bus", "orders", "store"]),
    (
        "worker",
        &[
            "domain", "rules", "bus", "api", "auth", "store", "orders", "admin", "clock",
            "settings",
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
const PURE: &[&str] = &["domain", "rules", "inventory"];

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

/// `src/console/screens/fleet/detail.rs` → `console::screens::fleet::detail`.
fn module_path(path: &Path) -> String {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rel = path.strip_prefix(&src).unwrap().with_extension("");
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("::")
}

/// The modules of the crate that `code`, in module `here`, names: `crate::`
/// paths, `super::` paths (and `super::{a, b}` groups), and `use` of a
/// child module; each resolved to the longest prefix in `known`.
fn module_imports(here: &str, code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let parent = |m: &str| {
        m.rsplit_once("::")
            .map_or(String::new(), |(p, _)| p.to_string())
    };
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    // The path segments after a start, and each path of a `{…}` group.
    fn paths(rest: &str) -> Vec<String> {
        let mut segs = String::new();
        for (i, c) in rest.char_indices() {
            if c == '{' {
                let close = rest[i..].find('}').map_or(rest.len(), |j| i + j);
                return rest[i + 1..close]
                    .split(',')
                    .map(|p| format!("{segs}{}", p.trim()))
                    .collect();
            }
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                segs.push(c);
            } else {
                break;
            }
        }
        vec![segs]
    }
    let resolve = |base: String, path: &str| -> Option<String> {
        // `super::Item` names the parent module itself.
        let mut best = known.contains(&base).then(|| base.clone());
        let mut at = base.clone();
        for seg in path.split("::").filter(|s| !s.is_empty()) {
            let seg = ident(seg);
            if seg.is_empty() {
                break;
            }
            at = if at.is_empty() {
                seg
            } else {
                format!("{at}::{seg}")
            };
            if known.contains(&at) {
                best = Some(at.clone());
            }
        }
        best
    };
    let mut out = BTreeSet::new();
    for (start, base) in [("crate::", String::new()), ("super::", parent(here))] {
        let mut rest = code;
        while let Some(i) = rest.find(start) {
            let before = rest[..i].chars().last();
            let tail = &rest[i + start.len()..];
            rest = tail;
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let mut base = base.clone();
            let mut tail = tail;
            while let Some(t) = tail.strip_prefix("super::") {
                base = parent(&base);
                tail = t;
            }
            rest = tail;
            for p in paths(tail) {
                out.extend(resolve(base.clone(), &p));
            }
        }
    }
    // A child module named by a path (`fleet::draw`, `use editor::Draft`).
    let mut rest = code;
    while let Some(i) = rest.find("::") {
        let head: String = rest[..i]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let before = rest[..i - head.len()].chars().last();
        if !head.is_empty() && before != Some(':') {
            let child = format!("{here}::{head}");
            if known.contains(&child) {
                out.insert(child);
            }
        }
        rest = &rest[i + 2..];
    }
    out.remove(here);
    out
}

/// The screen a module belongs to (`console::screens::fleet` and its
/// submodules: `fleet`), if any.
fn screen_of(module: &str) -> Option<String> {
    let rest = module.strip_prefix("console::screens::")?;
    Some(rest.split("::").next().unwrap_or(rest).to_string())
}

/// The import circles a screen is in with any module outside it: a
/// screen imports only what is below every screen (so no circle spans two
/// screens, nor a screen and the modules that hold or call them all).
fn screen_circles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(n) = todo.pop() {
            for d in g.get(&n).into_iter().flatten() {
                if seen.insert(d.clone()) {
                    todo.push(d.clone());
                }
            }
        }
        seen
    };
    let mut out = BTreeSet::new();
    for a in g.keys() {
        let Some(screen) = screen_of(a) else {
            continue;
        };
        for b in reach(a) {
            if screen_of(&b).as_ref() != Some(&screen) && reach(&b).contains(a) {
                let other = screen_of(&b).unwrap_or_else(|| b.clone());
                out.insert(format!("{screen} ↔ {other}"));
            }
        }
    }
    out.into_iter().collect()
}

fn console_graph() -> BTreeMap<String, BTreeSet<String>> {
    let files: Vec<(String, String)> = sources()
        .into_iter()
        .filter(|p| module_of(p) == "console")
        .map(|p| (module_path(&p), code(&std::fs::read_to_string(&p).unwrap())))
        .collect();
    let known: BTreeSet<String> = files.iter().map(|(m, _)| m.clone()).collect();
    files
        .iter()
        .map(|(m, c)| (m.clone(), module_imports(m, c, &known)))
        .collect()
}

#[test]
fn no_screen_is_in_an_import_circle_with_another_module() {
    let g = console_graph();
    assert!(
        g.contains_key("console::screens::fleet") && g.contains_key("console::app"),
        "the console's modules were not found: {:?}",
        g.keys().collect::<Vec<_>>()
    );
    let circles = screen_circles(&g);
    assert!(
        circles.is_empty(),
        "screens in an import circle with a module outside them: {}",
        circles.join(", ")
    );
}

#[test]
fn the_screen_check_sees_a_circle_through_a_shared_module() {
    let known: BTreeSet<String> = [
        "console::app",
        "console::state",
        "console::screens",
        "console::screens::site",
        "console::screens::fleet",
        "console::screens::fleet::detail",
    ]
    .map(String::from)
    .into();
    let site = "use super::super::state::Shared;\nuse crate::console::{app::App, lists};\n";
    assert_eq!(
        module_imports("console::screens::site", site, &known),
        BTreeSet::from(["console::state".to_string(), "console::app".to_string()])
    );
    let fleet = "pub mod detail;\nfn f() { detail::pane(); }\n";
    assert_eq!(
        module_imports("console::screens::fleet", fleet, &known),
        BTreeSet::from(["console::screens::fleet::detail".to_string()])
    );
    let edges = |pairs: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in pairs {
            g.entry(a.to_string()).or_default().insert(b.to_string());
            g.entry(b.to_string()).or_default();
        }
        g
    };
    // A submodule and its screen may import each other; two screens may
    // share a module below them.
    let fine = edges(&[
        ("console::screens::fleet", "console::screens::fleet::detail"),
        ("console::screens::fleet::detail", "console::screens::fleet"),
        ("console::screens::fleet", "console::state"),
        ("console::screens::site", "console::state"),
    ]);
    assert!(screen_circles(&fine).is_empty());
    // A screen that reaches the app, which holds every screen, makes one
    // with the app, and through it with every other screen that does.
    let bad = edges(&[
        ("console::screens::site", "console::app"),
        ("console::app", "console::screens"),
        ("console::screens", "console::screens::fleet"),
        ("console::screens::fleet::detail", "console::screens::site"),
        ("console::screens::fleet", "console::screens::fleet::detail"),
    ]);
    assert_eq!(
        screen_circles(&bad),
        [
            "fleet ↔ console::app",
            "fleet ↔ console::screens",
            "fleet ↔ site",
            "site ↔ console::app",
            "site ↔ console::screens",
            "site ↔ fleet",
        ]
        .map(String::from)
    );
}
