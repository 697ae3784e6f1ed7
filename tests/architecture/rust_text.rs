//! Rust source read as text, for the architecture check: comments and literals blanked, braces
//! matched, lines counted. Enough for rustfmt-formatted code; not a parser.

/// The text with comments and the contents of string and char literals replaced by spaces
/// (newlines kept, so line numbers stay those of the file).
pub(crate) fn blank_comments_and_strings(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        i = match (c[i], next) {
            ('/', Some('/')) => blank_until(&c, i, &mut out, |c, j| c[j] == '\n'),
            ('/', Some('*')) => blank_block_comment(&c, i, &mut out),
            ('r', Some('"' | '#')) if raw_start(&c, i) => blank_raw_string(&c, i, &mut out),
            ('"', _) => blank_quoted(&c, i, &mut out),
            // A char literal ('x', '\n', '\u{7f}'); otherwise a lifetime, kept as it is.
            ('\'', _) if next == Some('\\') || c.get(i + 2) == Some(&'\'') => {
                blank_quoted(&c, i, &mut out)
            }
            (ch, _) => {
                out.push(ch);
                i + 1
            }
        };
    }
    out
}

fn blank(out: &mut String, ch: char) {
    out.push(if ch == '\n' { '\n' } else { ' ' });
}

/// Blanks from `i` up to (not including) the first `j` where `end(c, j)`; returns `j`.
fn blank_until(
    c: &[char],
    mut i: usize,
    out: &mut String,
    end: impl Fn(&[char], usize) -> bool,
) -> usize {
    while i < c.len() && !end(c, i) {
        blank(out, c[i]);
        i += 1;
    }
    i
}

/// A `/* .. */` comment, nested ones included.
fn blank_block_comment(c: &[char], mut i: usize, out: &mut String) -> usize {
    let mut depth = 0;
    while i < c.len() {
        if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            depth += 1;
        } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
            depth -= 1;
            if depth == 0 {
                out.push_str("  ");
                return i + 2;
            }
        }
        blank(out, c[i]);
        i += 1;
    }
    i
}

/// `r"..."`, `r#"..."#`: the `r` is kept, the rest blanked.
fn blank_raw_string(c: &[char], i: usize, out: &mut String) -> usize {
    let hashes = c[i + 1..].iter().take_while(|&&h| h == '#').count();
    out.push('r');
    if c.get(i + 1 + hashes) != Some(&'"') {
        return i + 1; // `r#ident`, a raw identifier
    }
    let close: Vec<char> = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    let body = i + 2 + hashes;
    let end = (body..c.len())
        .find(|&j| c[j..].starts_with(&close))
        .map_or(c.len(), |j| j + close.len());
    c[i + 1..end].iter().for_each(|&ch| blank(out, ch));
    end
}

/// A `"..."` or `'.'` literal with escapes: the quotes are kept, the contents blanked.
fn blank_quoted(c: &[char], mut i: usize, out: &mut String) -> usize {
    let quote = c[i];
    out.push(quote);
    i += 1;
    while i < c.len() && c[i] != quote {
        if c[i] == '\\' {
            blank(out, c[i]);
            i += 1;
        }
        if i < c.len() {
            blank(out, c[i]);
            i += 1;
        }
    }
    if i < c.len() {
        out.push(quote);
    }
    i + 1
}

fn ident_before(c: &[char], i: usize) -> bool {
    i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_')
}

/// Whether the `r` at `i` starts a raw string (`r"`, `r#"`, `br"`), not ends a name.
fn raw_start(c: &[char], i: usize) -> bool {
    !ident_before(c, i) || (c[i - 1] == 'b' && !ident_before(c, i - 1))
}

pub(crate) fn is_ident(ch: u8) -> bool {
    ch.is_ascii_alphanumeric() || ch == b'_'
}

/// The name that starts at `at` (letters, digits, `_`), maybe empty.
pub(crate) fn ident_at(code: &str, at: usize) -> String {
    code[at..]
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The offsets of each `word` that is not the tail of a longer name.
pub(crate) fn word_starts<'a>(code: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
    code.match_indices(word)
        .map(|(i, _)| i)
        .filter(move |&i| i == 0 || !is_ident(code.as_bytes()[i - 1]))
}

/// The inline modules of a file (`mod tests { .. }`): (name, byte range of the body).
pub(crate) fn inline_modules(code: &str) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    for start in word_starts(code, "mod ") {
        let name = ident_at(code, start + 4);
        let rest = code[start + 4 + name.len()..].trim_start();
        if name.is_empty() || !rest.starts_with('{') {
            continue;
        }
        let open = code.len() - rest.len();
        let close = matching_brace(code.as_bytes(), open).unwrap_or(code.len());
        out.push((name, open, close));
    }
    out
}

/// The offset of the `}` that closes the `{` at `open`.
pub(crate) fn matching_brace(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, &ch) in b.iter().enumerate().skip(open) {
        match ch {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The `{` that opens a function's body, or `None` for a declaration without one (`;` first).
pub(crate) fn body_start(b: &[u8], from: usize) -> Option<usize> {
    let mut parens = 0i32;
    for (i, &ch) in b.iter().enumerate().skip(from) {
        match ch {
            b'(' | b'[' => parens += 1,
            b')' | b']' => parens -= 1,
            b'{' if parens == 0 => return Some(i),
            b';' if parens == 0 => return None,
            _ => {}
        }
    }
    None
}

pub(crate) fn line_of(code: &str, offset: usize) -> usize {
    code[..offset].matches('\n').count() + 1
}
