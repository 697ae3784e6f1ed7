//! The inputs of the fuzz targets: real files mutated (byte flips, metacharacters, truncation,
//! duplicated lines, deep nesting, huge numbers, non-UTF-8 bytes) and random byte or token soups,
//! all as proptest strategies so that a failure shrinks to a small input.

use proptest::prelude::*;
use proptest::sample::{select, Index};

/// YAML and JSON metacharacters and the constructs that break parsers most often.
pub(crate) const TOKENS: &[&str] = &[
    ":",
    ": ",
    "- ",
    "---\n",
    "--- ",
    "...\n",
    "{",
    "}",
    "[",
    "]",
    ",",
    "\"",
    "'",
    "&a ",
    "*a",
    "&a [*a, *a, *a, *a]",
    "!!str ",
    "!!binary ",
    "!tag ",
    "? ",
    "|",
    "|-\n",
    ">",
    "#",
    "%YAML 1.2\n",
    "%TAG ! tag:x:\n",
    "\n",
    "\t",
    "  ",
    "<<: *a\n",
    "<<: {x: 1}\n",
    "\\",
    "\\u0000",
    "\\ud800",
    "\u{feff}",
    "\u{0}",
    "\r\n",
    "\r",
    "null",
    "~",
    "true",
    "no",
    "kind: List\nitems:\n",
    "items: [1, \"x\", null]\n",
    "\"planId\": \"",
    "é",
    "\u{10ffff}",
    "\u{2028}",
    "..",
    "../",
    "/",
    "apiVersion: v1\n",
    "kind: ",
    "metadata: ",
    "spec: ",
    "name: ",
    "namespace: ",
    "x: &a y\n",
];

/// Numbers at and past the edges of i64, u64 and f64.
pub(crate) const NUMBERS: &[&str] = &[
    "1e400",
    "-1e400",
    "1e-400",
    "18446744073709551616",
    "-9223372036854775809",
    "9223372036854775807",
    "99999999999999999999999999999999999999",
    "0x7fffffffffffffff",
    "1.7976931348623157e309",
    "NaN",
    ".nan",
    ".inf",
    "-.inf",
    "0o777",
    "1_000",
    "-0",
    "4e1000000",
];

/// Bytes that are never valid UTF-8, or only as a part of a sequence.
const BAD_BYTES: &[u8] = &[0x80, 0xbf, 0xc0, 0xc3, 0xe2, 0xed, 0xf0, 0xf5, 0xfe, 0xff];

#[derive(Clone, Debug)]
pub(crate) enum Mutation {
    Flip { at: Index, bit: u8 },
    Insert { at: Index, token: &'static str },
    Delete { at: Index, len: usize },
    Truncate { at: Index },
    DuplicateLine { at: Index, times: usize },
    Nest { at: Index, depth: usize, style: u8 },
    Number { at: Index, number: &'static str },
    NonUtf8 { at: Index, bytes: Vec<u8> },
    Splice { at: Index, from: Index, len: usize },
}

pub(crate) fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        4 => (any::<Index>(), select(TOKENS)).prop_map(|(at, token)| Mutation::Insert { at, token }),
        2 => (any::<Index>(), 1usize..64).prop_map(|(at, len)| Mutation::Delete { at, len }),
        1 => any::<Index>().prop_map(|at| Mutation::Truncate { at }),
        2 => (any::<Index>(), 1usize..4).prop_map(|(at, times)| Mutation::DuplicateLine { at, times }),
        1 => (any::<Index>(), 1usize..3000, 0u8..4)
            .prop_map(|(at, depth, style)| Mutation::Nest { at, depth, style }),
        2 => (any::<Index>(), select(NUMBERS)).prop_map(|(at, number)| Mutation::Number { at, number }),
        1 => (any::<Index>(), prop::collection::vec(select(BAD_BYTES), 1..4))
            .prop_map(|(at, bytes)| Mutation::NonUtf8 { at, bytes }),
        1 => (any::<Index>(), any::<Index>(), 1usize..200)
            .prop_map(|(at, from, len)| Mutation::Splice { at, from, len }),
    ]
}

/// What a target is given: a seed file mutated, or random bytes, or random tokens.
#[derive(Clone, Debug)]
pub(crate) enum Input {
    Mutated {
        seed: usize,
        mutations: Vec<Mutation>,
    },
    Bytes(Vec<u8>),
    Tokens(Vec<&'static str>),
}

/// Inputs over `seeds` seed files (`seeds` > 0).
pub(crate) fn input(seeds: usize) -> impl Strategy<Value = Input> {
    prop_oneof![
        8 => (0..seeds, prop::collection::vec(mutation(), 1..6))
            .prop_map(|(seed, mutations)| Input::Mutated { seed, mutations }),
        1 => prop::collection::vec(any::<u8>(), 0..256).prop_map(Input::Bytes),
        1 => prop::collection::vec(
                prop_oneof![select(TOKENS), select(NUMBERS)], 0..48).prop_map(Input::Tokens),
    ]
}

impl Input {
    /// The bytes of this input given the seed files.
    pub(crate) fn bytes(&self, seeds: &[Vec<u8>]) -> Vec<u8> {
        match self {
            Input::Mutated { seed, mutations } => {
                let mut b = seeds.get(*seed).cloned().unwrap_or_default();
                for m in mutations {
                    apply(&mut b, m);
                }
                b
            }
            Input::Bytes(b) => b.clone(),
            Input::Tokens(t) => t.concat().into_bytes(),
        }
    }

    /// The seed file this input started from, if any.
    pub(crate) fn seed(&self) -> Option<usize> {
        match self {
            Input::Mutated { seed, .. } => Some(*seed),
            _ => None,
        }
    }
}

/// Applies one mutation in place.
pub(crate) fn apply(b: &mut Vec<u8>, m: &Mutation) {
    let pos = |at: &Index, len: usize| at.index(len + 1);
    match m {
        Mutation::Flip { at, bit } => {
            if !b.is_empty() {
                let i = at.index(b.len());
                b[i] ^= 1 << bit;
            }
        }
        Mutation::Insert { at, token } => insert(b, pos(at, b.len()), token.as_bytes()),
        Mutation::Delete { at, len } => {
            let i = pos(at, b.len());
            let end = (i + len).min(b.len());
            b.drain(i..end);
        }
        Mutation::Truncate { at } => b.truncate(pos(at, b.len())),
        Mutation::DuplicateLine { at, times } => duplicate_line(b, pos(at, b.len()), *times),
        Mutation::Nest { at, depth, style } => {
            let text = nest(*depth, *style);
            insert(b, pos(at, b.len()), text.as_bytes());
        }
        Mutation::Number { at, number } => insert(b, pos(at, b.len()), number.as_bytes()),
        Mutation::NonUtf8 { at, bytes } => insert(b, pos(at, b.len()), bytes),
        Mutation::Splice { at, from, len } => {
            if !b.is_empty() {
                let f = from.index(b.len());
                let chunk = b[f..(f + len).min(b.len())].to_vec();
                insert(b, pos(at, b.len()), &chunk);
            }
        }
    }
}

fn insert(b: &mut Vec<u8>, i: usize, what: &[u8]) {
    b.splice(i..i, what.iter().copied());
}

/// Repeats the line around `i` `times` more times (a duplicated key, document or item).
fn duplicate_line(b: &mut Vec<u8>, i: usize, times: usize) {
    let start = b[..i]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |p| p + 1);
    let end = b[i..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| i + p + 1);
    let mut line = b[start..end].to_vec();
    if line.last() != Some(&b'\n') {
        line.insert(0, b'\n');
    }
    for _ in 0..times {
        insert(b, end, &line);
    }
}

/// `depth` levels of nesting: JSON/YAML flow arrays, flow maps, unclosed arrays, or block maps.
fn nest(depth: usize, style: u8) -> String {
    match style {
        0 => format!("{}1{}", "[".repeat(depth), "]".repeat(depth)),
        1 => format!("{}1{}", "{\"a\": ".repeat(depth), "}".repeat(depth)),
        2 => "[".repeat(depth),
        _ => {
            // Block style grows quadratically with depth: keep it to a few hundred levels.
            let depth = depth.min(300);
            (0..depth)
                .map(|i| format!("{}k:\n", " ".repeat(i)))
                .collect()
        }
    }
}
