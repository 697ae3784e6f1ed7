//! The architecture check: the module layering of docs/architecture.md, and the size limits.
//!
//! It reads the `| layer | modules |` table of docs/architecture.md and fails when a module in
//! src/ imports (`crate::x`, `use crate::{x, ..}`, or a `super::` chain that leaves its
//! top-level module) a top-level module of a higher layer, when the imports between top-level
//! modules have a loop, when a top-level module is in no layer, when a file is over 600 lines or
//! a function over 80, unless the file (in its header) or the function (just above it) says
//! `// long: <reason>`. Every failure names the file, the line and the offending text.
//!
//! The source is read as text: comments and string contents are blanked first, so a path in a
//! doc comment or a message is not an import.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::exit,
    reason = "a test (or the bench fleet generator) fails loudly; the library may not"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[path = "architecture/rust_text.rs"]
mod rust_text;
use rust_text::{
    blank_comments_and_strings, body_start, ident_at, inline_modules, line_of, matching_brace,
    word_starts,
};

const MAX_FILE_LINES: usize = 600;
const MAX_FN_LINES: usize = 80;
const LONG: &str = "// long:";

/// One source file: its path from the repository root (`src/plan/mod.rs`) and its text.
struct Source {
    rel: String,
    text: String,
}

/// An import of another top-level module.
struct Import {
    file: String,
    line: usize,
    from: String,
    to: String,
    text: String,
}

#[test]
fn layering_and_sizes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
    let layers = layer_table(&doc).unwrap();
    let sources = read_sources(&root.join("src"));
    let problems = check(&sources, &layers);
    assert!(
        problems.is_empty(),
        "the architecture check failed (docs/architecture.md, tests/architecture.rs):\n\n{}",
        problems.join("\n")
    );
}

/// The "## Module graph" list of docs/architecture.md is the graph the code has.
#[test]
fn the_documented_module_graph_is_the_code_s() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
    let layers = layer_table(&doc).unwrap();
    let sources = read_sources(&root.join("src"));
    let want = module_graph(&sources, &layers);
    let have: Vec<&str> = doc
        .lines()
        .skip_while(|l| *l != "## Module graph")
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with("- `"))
        .collect();
    assert_eq!(
        have.join("\n"),
        want.join("\n"),
        "docs/architecture.md's module graph differs from the imports in src/; it should read:\n{}",
        want.join("\n")
    );
}

/// Each top-level module and what it imports, one line each, in layer order:
/// ``- `plan` → `diag`, `model` `` (or `(nothing)`).
fn module_graph(sources: &[Source], layers: &BTreeMap<String, u32>) -> Vec<String> {
    let modules: BTreeSet<String> = sources.iter().filter_map(|s| top_module(&s.rel)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for s in sources {
        let code = blank_comments_and_strings(&s.text);
        for i in imports_of(&s.rel, &code) {
            if modules.contains(&i.to) {
                edges.entry(i.from).or_default().insert(i.to);
            }
        }
    }
    let rank = |m: &String| (layers.get(m).copied().unwrap_or(u32::MAX), m.clone());
    let mut order: Vec<&String> = edges.keys().collect();
    order.sort_by_key(|m| rank(m));
    order
        .into_iter()
        .map(|m| {
            let mut to: Vec<&String> = edges[m].iter().collect();
            to.sort_by_key(|t| rank(t));
            let to: Vec<String> = to.iter().map(|t| format!("`{t}`")).collect();
            let to = if to.is_empty() {
                "(nothing)".to_string()
            } else {
                to.join(", ")
            };
            format!("- `{m}` → {to}")
        })
        .collect()
}

#[test]
fn the_layer_table_is_read() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
    let layers = layer_table(&doc).unwrap();
    let numbers: BTreeSet<u32> = layers.values().copied().collect();
    assert_eq!(numbers, (0..=9).collect(), "{layers:?}");
    for m in ["diag", "store", "load", "plan", "apply", "report", "cli"] {
        assert!(layers.contains_key(m), "{m} in no layer: {layers:?}");
    }
}

#[test]
fn the_check_sees_upward_imports_loops_and_long_code() {
    let table = "| layer | modules |\n|--|--|\n| 0 | a |\n| 1 | b, c |\n| 2 | f |\n";
    let layers = layer_table(table).unwrap();
    let long_fn = format!(
        "fn big() {{\n{}}}\n",
        "    let x = 1;\n".repeat(MAX_FN_LINES)
    );
    let sources = [
        ("src/a.rs", "use crate::b::X;\n// crate::c in a comment\n"),
        ("src/b/mod.rs", "mod inner;\nfn f() { let s = \"crate::a\"; crate::c::g(); }\n"),
        ("src/b/inner.rs", "use super::super::{c::Y, f};\n#[cfg(test)]\nmod tests {\n    use super::super::X;\n}\n"),
        ("src/c.rs", "use crate::{b::Z};\n"),
        ("src/d.rs", &long_fn),
        ("src/f.rs", ""),
        ("src/e.rs", &format!("// long: a table\n{long_fn}")),
    ]
    .map(|(rel, text)| Source { rel: rel.into(), text: text.into() });
    let problems = check(&sources, &layers).join("\n");
    assert!(
        problems.contains("src/a.rs:1: `crate::b::X` (a, layer 0, imports b, layer 1)"),
        "{problems}"
    );
    assert!(
        !problems.contains("src/a.rs:2"),
        "a comment is not an import: {problems}"
    );
    assert!(
        problems.contains(
            "src/b/inner.rs:1: `super::super::{c::Y, f}` (b, layer 1, imports f, layer 2)"
        ),
        "{problems}"
    );
    assert!(
        !problems.contains("src/b/inner.rs:4"),
        "stays inside b: {problems}"
    );
    assert!(problems.contains("b → c → b"), "{problems}");
    assert!(
        problems.contains("src/d.rs: module `d` is in no layer"),
        "{problems}"
    );
    assert!(
        problems.contains("src/d.rs:1: fn big: 82 lines"),
        "{problems}"
    );
    assert!(
        !problems.contains("src/e.rs:2"),
        "a `// long:` function: {problems}"
    );
}

/// The `| layer | modules |` table: module name → layer.
fn layer_table(doc: &str) -> Result<BTreeMap<String, u32>, String> {
    let cells = |l: &str| -> Vec<String> {
        l.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_lowercase())
            .collect()
    };
    let mut lines = doc.lines().skip_while(|l| cells(l) != ["layer", "modules"]);
    lines.next().ok_or("no `| layer | modules |` table")?;
    let mut out = BTreeMap::new();
    for row in lines
        .skip(1)
        .take_while(|l| l.trim_start().starts_with('|'))
    {
        let row = cells(row);
        let layer: u32 = row[0].parse().map_err(|_| format!("layer `{}`", row[0]))?;
        for m in row[1].split(',').map(|m| m.trim().trim_matches('`')) {
            if out.insert(m.to_string(), layer).is_some() {
                return Err(format!("`{m}` is in two layers"));
            }
        }
    }
    Ok(out)
}

fn read_sources(src: &Path) -> Vec<Source> {
    let root = src.parent().unwrap();
    let mut out: Vec<Source> = walkdir::WalkDir::new(src)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| Source {
            rel: e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/"),
            text: std::fs::read_to_string(e.path()).unwrap(),
        })
        .collect();
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    out
}

/// Every problem, as the lines of the failure message.
fn check(sources: &[Source], layers: &BTreeMap<String, u32>) -> Vec<String> {
    let modules: BTreeSet<String> = sources.iter().filter_map(|s| top_module(&s.rel)).collect();
    let mut imports = Vec::new();
    let mut unlayered = Vec::new();
    let (mut long_files, mut long_fns) = (Vec::new(), Vec::new());
    for s in sources {
        let code = blank_comments_and_strings(&s.text);
        if let Some(top) = top_module(&s.rel) {
            if !layers.contains_key(&top) && !unlayered.iter().any(|(m, _)| *m == top) {
                unlayered.push((top.clone(), s.rel.clone()));
            }
            imports.extend(
                imports_of(&s.rel, &code)
                    .into_iter()
                    .filter(|i| modules.contains(&i.to)),
            );
        }
        let lines = s.text.lines().count();
        if lines > MAX_FILE_LINES && !header_says_long(&s.text) {
            long_files.push(format!("  {}: {lines} lines", s.rel));
        }
        long_fns.extend(long_functions(&s.rel, &s.text, &code));
    }
    let mut out = Vec::new();
    let upward: Vec<String> = imports
        .iter()
        .filter_map(|i| {
            let (from, to) = (layers.get(&i.from)?, layers.get(&i.to)?);
            (to > from).then(|| {
                format!(
                    "  {}:{}: `{}` ({}, layer {from}, imports {}, layer {to})",
                    i.file, i.line, i.text, i.from, i.to
                )
            })
        })
        .collect();
    section(&mut out, "upward imports", upward);
    section(
        &mut out,
        "import loops between top-level modules",
        loops(&imports),
    );
    let unlayered = unlayered
        .into_iter()
        .map(|(m, file)| format!("  {file}: module `{m}` is in no layer of the table"))
        .collect();
    section(&mut out, "modules in no layer", unlayered);
    section(
        &mut out,
        &format!("files over {MAX_FILE_LINES} lines without `{LONG} <reason>`"),
        long_files,
    );
    section(
        &mut out,
        &format!("functions over {MAX_FN_LINES} lines without `{LONG} <reason>`"),
        long_fns,
    );
    out
}

fn section(out: &mut Vec<String>, title: &str, items: Vec<String>) {
    if !items.is_empty() {
        // A loop is one item: its edges are the indented lines below it.
        let count = items.iter().filter(|l| !l.starts_with("    ")).count();
        out.push(format!("{title} ({count}):"));
        out.extend(items);
        out.push(String::new());
    }
}

/// `src/plan/mod.rs` → `plan`; `src/lib.rs` and `src/main.rs` (the crate root, the binary)
/// belong to no module.
fn top_module(rel: &str) -> Option<String> {
    let path = module_path(rel);
    path.first().cloned()
}

/// `src/a/b.rs` → `[a, b]`, `src/a/mod.rs` → `[a]`, `src/lib.rs` → `[]`.
fn module_path(rel: &str) -> Vec<String> {
    let rel = rel
        .strip_prefix("src/")
        .unwrap_or(rel)
        .trim_end_matches(".rs");
    let mut parts: Vec<String> = rel.split('/').map(String::from).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The imports of other top-level modules in one file: `crate::x..` and `super::` chains that
/// reach the crate root.
fn imports_of(rel: &str, code: &str) -> Vec<Import> {
    let file_path = module_path(rel);
    let Some(own) = file_path.first().cloned() else {
        return Vec::new();
    };
    let mods = inline_modules(code);
    let b = code.as_bytes();
    let mut out = Vec::new();
    for prefix in ["crate::", "super::"] {
        for start in word_starts(code, prefix) {
            if start > 0 && matches!(b[start - 1], b'$' | b':') {
                continue; // `$crate::`, or the second `super::` of a chain
            }
            let mut rest = start + prefix.len();
            let mut depth = if prefix == "crate::" { usize::MAX } else { 1 };
            while code[rest..].starts_with("super::") {
                depth += 1;
                rest += "super::".len();
            }
            if depth != usize::MAX {
                let inline = mods
                    .iter()
                    .filter(|(_, o, c)| *o < start && start < *c)
                    .count();
                if depth < file_path.len() + inline {
                    continue; // stays inside the top-level module
                }
            }
            let (targets, end) = targets_at(code, rest);
            let mut text = code[start..end]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            if text.chars().count() > 100 {
                text = format!("{}…", text.chars().take(99).collect::<String>());
            }
            for to in targets.into_iter().filter(|t| *t != own && t != "self") {
                let (file, line, from) = (rel.to_string(), line_of(code, start), own.clone());
                out.push(Import {
                    file,
                    line,
                    from,
                    to,
                    text: text.clone(),
                });
            }
        }
    }
    out.sort_by_key(|i| i.line);
    out
}

/// The top-level names a path names from the crate root at `at` (`x::..` or `{x::.., y}`), and
/// the offset where the path ends.
fn targets_at(code: &str, at: usize) -> (Vec<String>, usize) {
    let ident = |from: usize| ident_at(code, from);
    if code[at..].starts_with('{') {
        let close = matching_brace(code.as_bytes(), at).unwrap_or(code.len());
        let mut names = Vec::new();
        let mut depth = 0;
        let mut item_start = true;
        for (i, ch) in code[at + 1..close].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => item_start = true,
                c if item_start && !c.is_whitespace() => {
                    item_start = false;
                    names.push(ident(at + 1 + i));
                }
                _ => {}
            }
        }
        (
            names.into_iter().filter(|n| !n.is_empty()).collect(),
            close + 1,
        )
    } else {
        let name = ident(at);
        let mut end = code[at..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .map_or(code.len(), |e| at + e);
        if code[end..].starts_with('{') && code[..end].ends_with("::") {
            end = matching_brace(code.as_bytes(), end).map_or(code.len(), |c| c + 1);
        }
        (
            vec![name].into_iter().filter(|n| !n.is_empty()).collect(),
            end.max(at + 1),
        )
    }
}

/// Each loop of the import graph (a strongly connected set of top-level modules), with the
/// first import of each of its edges.
fn loops(imports: &[Import]) -> Vec<String> {
    let mut first: BTreeMap<(&str, &str), (&Import, usize)> = BTreeMap::new();
    for i in imports {
        first.entry((&i.from, &i.to)).or_insert((i, 0)).1 += 1;
    }
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(m) = todo.pop() {
            for ((_, to), _) in first.iter().filter(|((f, _), _)| *f == m) {
                if seen.insert(to.to_string()) {
                    todo.push(to.to_string());
                }
            }
        }
        seen
    };
    let nodes: BTreeSet<&str> = first.keys().map(|(f, _)| *f).collect();
    let reaches: BTreeMap<&str, BTreeSet<String>> = nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for n in &nodes {
        if done.contains(*n) || !reaches[n].contains(*n) {
            continue;
        }
        let scc: Vec<&str> = nodes
            .iter()
            .copied()
            .filter(|m| reaches[n].contains(*m) && reaches[m].contains(*n))
            .collect();
        done.extend(scc.iter().copied());
        out.push(format!("  loop {}:", cycle_text(&scc, &first)));
        for ((f, t), (i, count)) in first
            .iter()
            .filter(|((f, t), _)| scc.contains(f) && scc.contains(t))
        {
            let more = if *count > 1 {
                format!(" (and {} more)", count - 1)
            } else {
                String::new()
            };
            out.push(format!(
                "    {f} → {t}: {}:{}: `{}`{more}",
                i.file, i.line, i.text
            ));
        }
    }
    out
}

/// One cycle through a loop's modules, as `a → b → a`.
fn cycle_text(scc: &[&str], edges: &BTreeMap<(&str, &str), (&Import, usize)>) -> String {
    let start = scc[0];
    let next = |m: &str| -> Vec<&str> {
        edges
            .keys()
            .filter(|(f, t)| *f == m && scc.contains(t))
            .map(|(_, t)| *t)
            .collect()
    };
    // The shortest way from `start` back to itself (breadth first).
    let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
    let mut todo = std::collections::VecDeque::from([start]);
    while let Some(m) = todo.pop_front() {
        if next(m).contains(&start) {
            let mut path = vec![start, m];
            while let Some(p) = parent.get(path[path.len() - 1]) {
                path.push(p);
            }
            path.reverse();
            return path.join(" → ");
        }
        for t in next(m) {
            if t != start && !parent.contains_key(t) {
                parent.insert(t, m);
                todo.push_back(t);
            }
        }
    }
    scc.join(", ")
}

/// `// long:` in the file's header: the comments and attributes before its first item.
fn header_says_long(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .take_while(|l| {
            l.is_empty() || l.starts_with("//") || l.starts_with("#!") || l.starts_with("#[")
        })
        .any(|l| l.starts_with(LONG))
}

/// The functions over the limit whose doc comments and attributes do not say `// long:`.
fn long_functions(rel: &str, text: &str, code: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let b = code.as_bytes();
    let mut out = Vec::new();
    for start in word_starts(code, "fn ") {
        let name = ident_at(code, start + 3);
        if name.is_empty() {
            continue;
        }
        let Some(open) = body_start(b, start + 3) else {
            continue;
        };
        let Some(close) = matching_brace(b, open) else {
            continue;
        };
        let (first, last) = (line_of(code, start), line_of(code, close));
        let length = last - first + 1;
        let above = lines[..first - 1]
            .iter()
            .rev()
            .map(|l| l.trim())
            .take_while(|l| l.starts_with("//") || l.starts_with("#["));
        if length > MAX_FN_LINES
            && !above.clone().any(|l| l.starts_with(LONG))
            && !lines[first - 1].contains(LONG)
        {
            out.push(format!("  {rel}:{first}: fn {name}: {length} lines"));
        }
    }
    out
}
