//! The fast way to a file's changed leaves: a line diff of two block-style YAML texts, each
//! changed line given its path by the indentation above it. It reads what vow and serde_yaml
//! write (one document of block mappings and sequences, plain and single-quoted one-line
//! scalars, literal blocks); for anything else (several documents, flow collections, anchors,
//! double quotes, folded scalars, tabs) it answers `None` and the documents are parsed
//! instead. Parsing both sides of every changed file was most of a plan's cost of summaries.

use std::collections::HashMap;

/// Files larger than this are parsed instead.
const LINE_DIFF_BYTES: usize = 64 * 1024;

/// What a changed line holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Held {
    Scalar(String),
    /// A mapping or sequence follows.
    Container,
    /// A literal block (`|`), one of whose lines changed.
    Block,
}

/// A changed leaf: its path, and what it holds before and after (`None`: absent).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Leaf {
    pub path: String,
    pub old: Option<Held>,
    pub new: Option<Held>,
}

/// The changed leaves from `old` to `new` in document order, or `None` when either text is
/// outside what this reads.
pub(super) fn changed_leaves(old: &str, new: &str) -> Option<Vec<Leaf>> {
    // A line diff's worst case grows with the square of the lines: larger files are parsed
    // (linear) rather than diffed, and no deadline makes the result depend on the machine.
    if [old, new].iter().any(|t| {
        t.len() > LINE_DIFF_BYTES || t.starts_with("---") || t.contains("\n---") || t.contains('\t')
    }) {
        return None;
    }
    let diff = similar::TextDiff::from_lines(old, new);
    let (mut was, mut now) = (Vec::new(), Vec::new());
    for op in diff.ops() {
        if op.tag() != similar::DiffTag::Equal {
            was.extend(op.old_range());
            now.extend(op.new_range());
        }
    }
    let (a, b) = (walk(old, Some(&was))?, walk(new, Some(&now))?);
    let (order, sides) = in_order(&diff, &a, &b);
    // A path changed on one side only may stand unchanged on the other (a moved line).
    let (mut all_a, mut all_b) = (None, None);
    let mut out: Vec<Leaf> = Vec::new();
    for p in order {
        let (o, n) = sides.get(p).copied().unwrap_or((None, None));
        let o = match o {
            Some(h) => Some(h.clone()),
            None => find(&mut all_a, old, p)?,
        };
        let n = match n {
            Some(h) => Some(h.clone()),
            None => find(&mut all_b, new, p)?,
        };
        let block = matches!(o, Some(Held::Block)) || matches!(n, Some(Held::Block));
        if o == n && !block {
            continue;
        }
        // Below a mapping or sequence added or removed whole: said by its own line.
        let whole = |l: &Leaf| (l.old.is_none() || l.new.is_none()) && inside(p, &l.path);
        if out.iter().any(whole) {
            continue;
        }
        out.push(Leaf {
            path: p.to_string(),
            old: o,
            new: n,
        });
    }
    Some(out)
}

/// Each changed path and what it holds on each side.
type Sides<'e> = HashMap<&'e str, (Option<&'e Held>, Option<&'e Held>)>;

/// The changed paths in the order of the diff's changes; within one change, in the order of
/// their text (siblings, as a parsed mapping orders its keys).
fn in_order<'e>(
    diff: &similar::TextDiff<'_, '_, '_, str>,
    a: &'e [(usize, String, Held)],
    b: &'e [(usize, String, Held)],
) -> (Vec<&'e str>, Sides<'e>) {
    let by_line = |entries: &[(usize, String, Held)]| {
        let mut m: HashMap<usize, Vec<usize>> = HashMap::new();
        for (k, (i, _, _)) in entries.iter().enumerate() {
            m.entry(*i).or_default().push(k);
        }
        m
    };
    let (at_a, at_b) = (by_line(a), by_line(b));
    let mut order: Vec<&str> = Vec::new();
    let mut sides: Sides = HashMap::new();
    for op in diff.ops() {
        if op.tag() == similar::DiffTag::Equal {
            continue;
        }
        let mut batch: Vec<(&str, &Held, bool)> = Vec::new();
        for i in op.old_range() {
            for &k in at_a.get(&i).into_iter().flatten() {
                if let Some((_, p, h)) = a.get(k) {
                    batch.push((p, h, true));
                }
            }
        }
        for j in op.new_range() {
            for &k in at_b.get(&j).into_iter().flatten() {
                if let Some((_, p, h)) = b.get(k) {
                    batch.push((p, h, false));
                }
            }
        }
        batch.sort_by(|x, y| x.0.cmp(y.0));
        for (p, h, old_side) in batch {
            let e = sides.entry(p).or_insert_with(|| {
                order.push(p);
                (None, None)
            });
            if old_side {
                e.0 = Some(h);
            } else {
                e.1 = Some(h);
            }
        }
    }
    (order, sides)
}

/// What `path` holds in `text` (every line walked once, on first need).
fn find(all: &mut Option<HashMap<String, Held>>, text: &str, path: &str) -> Option<Option<Held>> {
    if all.is_none() {
        *all = Some(
            walk(text, None)?
                .into_iter()
                .map(|(_, p, h)| (p, h))
                .collect(),
        );
    }
    Some(all.as_ref().and_then(|m| m.get(path).cloned()))
}

/// Whether `path` is below `parent`.
fn inside(path: &str, parent: &str) -> bool {
    path.strip_prefix(parent)
        .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

/// A frame of the path: a mapping key or a sequence index, at the indentation of its line.
struct Frame<'t> {
    indent: usize,
    key: Option<&'t str>,
    index: usize,
}

/// The path and content of the lines `only` names (sorted; `None`: every line), a literal
/// block's lines given as their key's; `None` when the text is outside what this reads.
fn walk(text: &str, only: Option<&[usize]>) -> Option<Vec<(usize, String, Held)>> {
    let mut out: Vec<(usize, String, Held)> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut wanted = only.map(|o| o.iter().peekable());
    // The indentation a literal block's lines are deeper than.
    let mut block: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let changed = match wanted.as_mut() {
            None => true,
            Some(w) => {
                while w.peek().is_some_and(|&&x| x < i) {
                    w.next();
                }
                w.peek().is_some_and(|&&x| x == i)
            }
        };
        let rest = line.trim_start_matches(' ');
        let indent = line.len() - rest.len();
        if let Some(b) = block {
            if rest.is_empty() || indent > b {
                let here = path_of(&stack);
                if changed && out.last().is_none_or(|(_, p, _)| *p != here) {
                    out.push((i, here, Held::Block));
                }
                continue;
            }
            block = None;
        }
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }
        let (item, body) = match rest.strip_prefix("- ") {
            Some(b) => (true, b),
            None if rest == "-" => return None,
            None => (false, rest),
        };
        if item {
            while stack.last().is_some_and(|f| f.indent > indent) {
                stack.pop();
            }
            match stack.last_mut() {
                Some(f) if f.indent == indent && f.key.is_none() => f.index += 1,
                _ => stack.push(Frame {
                    indent,
                    key: None,
                    index: 0,
                }),
            }
        } else {
            while stack.last().is_some_and(|f| f.indent >= indent) {
                stack.pop();
            }
        }
        let (key, val) = split_key(body, item)?;
        // An item that starts a mapping: the item itself is a leaf too (added or removed whole).
        if item && key.is_some() && changed {
            out.push((i, path_of(&stack), Held::Container));
        }
        if let Some(key) = key {
            stack.push(Frame {
                indent: if item { indent + 2 } else { indent },
                key: Some(key),
                index: 0,
            });
        }
        let held = match val {
            "" if key.is_some() => Some(Held::Container),
            "|" | "|-" | "|+" if key.is_some() => {
                block = stack.last().map(|f| f.indent);
                Some(Held::Container)
            }
            v if changed => Some(scalar(v)?),
            _ => None,
        };
        if changed {
            out.push((i, path_of(&stack), held?));
        }
    }
    Some(out)
}

/// `key: value` → the key and the value's text; a scalar item (`- value`) → no key; `None`
/// for a line this does not read (a folded scalar's next line, a flow or quoted key).
fn split_key(body: &str, item: bool) -> Option<(Option<&str>, &str)> {
    if body.starts_with(['"', '\'', '{', '[', '&', '*', '!', '?', '|', '>', '-']) {
        let quoted = body.starts_with('\'') && body.ends_with('\'') && body.len() > 1;
        return (item && quoted && !body.contains("': ")).then_some((None, body));
    }
    match body.split_once(": ") {
        Some((k, v)) => Some((Some(k), v.trim())),
        None => match body.strip_suffix(':') {
            Some(k) => Some((Some(k), "")),
            None => item.then_some((None, body)),
        },
    }
}

/// A one-line scalar's value as people read it; `None` for what this does not read.
fn scalar(v: &str) -> Option<Held> {
    if v.starts_with(['{', '[', '&', '*', '!', '|', '>', '"', '%', '@', '`']) || v.contains(" #") {
        return None;
    }
    if let Some(q) = v.strip_prefix('\'') {
        let inner = q.strip_suffix('\'')?;
        return Some(Held::Scalar(inner.replace("''", "'")));
    }
    Some(Held::Scalar(v.to_string()))
}

fn path_of(stack: &[Frame]) -> String {
    let mut p = String::new();
    for f in stack {
        match f.key {
            Some(k) => p = super::summary::field(&p, k),
            None => p.push_str(&format!("[{}]", f.index)),
        }
    }
    p
}
