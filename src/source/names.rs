//! The naming rules of Kubernetes and Kratix, checked where names are loaded.
//!
//! Names become directory names in the state store and label values on the clusters, so a name
//! Kubernetes would refuse (`../x`, `A_B`, a 300-character name) must never reach a path. Each
//! check returns the rule broken, for a finding that says what to change.

use std::path::{Path, PathBuf};

/// The longest DNS-1123 subdomain (an object name).
pub const SUBDOMAIN_MAX: usize = 253;
/// The longest DNS-1123 label (a namespace) and the longest label value.
pub const LABEL_MAX: usize = 63;

/// One dot-free part of a DNS name: lowercase alphanumerics and `-`, starting and ending
/// alphanumeric.
fn dns_part_ok(part: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !part.is_empty()
        && part.chars().all(|c| alnum(c) || c == '-')
        && part.starts_with(alnum)
        && part.ends_with(alnum)
}

/// A DNS-1123 subdomain, as Kubernetes object names are: lowercase alphanumerics, `-` and `.`,
/// starting and ending alphanumeric, at most 253 characters.
pub fn subdomain(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a name cannot be empty".into());
    }
    if name.len() > SUBDOMAIN_MAX {
        return Err(format!(
            "a name has at most {SUBDOMAIN_MAX} characters; this one has {}",
            name.len()
        ));
    }
    if name.split('.').all(dns_part_ok) {
        return Ok(());
    }
    Err(
        "a name is a DNS-1123 subdomain: lowercase letters, digits, `-` and `.`, starting and \
         ending with a letter or digit (no `/`, no `..`, no capitals, no `_`)"
            .into(),
    )
}

/// A DNS-1123 label, as namespaces are: lowercase alphanumerics and `-`, starting and ending
/// alphanumeric, at most 63 characters.
pub fn label(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a namespace cannot be empty".into());
    }
    if name.len() > LABEL_MAX {
        return Err(format!(
            "at most {LABEL_MAX} characters are allowed; this one has {}",
            name.len()
        ));
    }
    if dns_part_ok(name) {
        return Ok(());
    }
    Err(
        "it must be a DNS-1123 label: lowercase letters, digits and `-`, starting and ending \
         with a letter or digit (no `.`, `/`, capitals or `_`)"
            .into(),
    )
}

/// A Kubernetes label value: at most 63 characters of alphanumerics, `-`, `_` and `.`, starting
/// and ending alphanumeric. vow also refuses `..`, as the value names a store directory.
pub fn label_value(value: &str) -> Result<(), String> {
    if value.len() > LABEL_MAX {
        return Err(format!(
            "a label value has at most {LABEL_MAX} characters; this one has {}",
            value.len()
        ));
    }
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let ends_ok = value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !value.is_empty() && value.chars().all(ok_char) && ends_ok && !value.contains("..") {
        return Ok(());
    }
    Err(
        "a label value is letters, digits, `-`, `_` and `.`, starting and ending with a letter \
         or digit (no `/`, no `..`, not empty)"
            .into(),
    )
}

/// A path inside the state store (a Destination's `spec.path`): relative, no `..`, `.` or empty
/// components, no NUL, and not inside `.vow/` (vow's own records).
pub fn store_path(path: &str) -> Result<(), String> {
    if path.starts_with('/') {
        return Err("the path must be relative to the store, not absolute".into());
    }
    if path.contains('\0') || path.contains('\\') {
        return Err("the path cannot hold a NUL byte or a backslash".into());
    }
    let parts: Vec<&str> = path.split('/').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err("the path cannot have empty components (`a//b`, a trailing `/`)".into());
    }
    if parts.iter().any(|p| *p == ".." || *p == ".") {
        return Err("the path cannot have `.` or `..` components".into());
    }
    if parts.first().is_some_and(|p| *p == ".vow") {
        return Err("the path cannot be inside `.vow/`, where vow keeps its records".into());
    }
    Ok(())
}

/// Resolves a script's `file:` reference, written in a document in `dir`, to a file inside the
/// workspace `root` or inside `dir` itself (wherever a linked folder leads). Refuses an absolute path, one whose `..` climbs out, and one that a
/// symbolic link leads out of, before anything is read; and a FIFO or device, whose read could
/// block. A file that does not exist resolves, and reading it says so.
pub fn workspace_file(root: &Path, dir: &Path, rel: &str) -> Result<PathBuf, String> {
    if Path::new(rel).is_absolute() {
        return Err(format!(
            "`{rel}` is an absolute path; scripts are named relative to their document"
        ));
    }
    let path = dir.join(rel);
    let Ok(real) = path.canonicalize() else {
        return lexically_inside(root, &path, rel).map(|()| path);
    };
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    // The document's own folder counts too: a Promise folder linked into the workspace was read
    // from where the link leads, and its scripts beside it are as trusted as it is.
    let own = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    if !real.starts_with(&root) && !real.starts_with(&own) {
        return Err(format!(
            "`{rel}` resolves to {}, outside the workspace and its document's folder",
            real.display()
        ));
    }
    if !real.is_file() {
        return Err(format!("`{rel}` is not a regular file"));
    }
    Ok(real)
}

/// For a path that does not exist: its `..` must not climb out of `root`.
fn lexically_inside(root: &Path, path: &Path, rel: &str) -> Result<(), String> {
    let rest = path.strip_prefix(root).unwrap_or(path);
    let mut depth: i64 = 0;
    for c in rest.components() {
        match c {
            std::path::Component::ParentDir => depth -= 1,
            std::path::Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return Err(format!("`{rel}` climbs out of the workspace with `..`"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_promise_folder_linked_in_keeps_its_scripts_and_nothing_more() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = tmp.path().join("ws");
        let shared = tmp.path().join("shared/app");
        std::fs::create_dir_all(ws.join("promises")).unwrap();
        std::fs::create_dir_all(&shared).unwrap();
        std::fs::write(shared.join("render.rhai"), "output(\"a\", #{});").unwrap();
        std::fs::write(tmp.path().join("shared/secret"), "x").unwrap();
        let dir = ws.join("promises/app");
        std::os::unix::fs::symlink(&shared, &dir).unwrap();
        assert!(workspace_file(&ws, &dir, "render.rhai").is_ok());
        let e = workspace_file(&ws, &dir, "../secret").unwrap_err();
        assert!(e.contains("outside the workspace"), "{e}");
    }

    #[test]
    fn subdomains() {
        for ok in ["web", "a.b-c", "0", "x1.y2"] {
            assert!(subdomain(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(254);
        for bad in [
            "",
            "A",
            "a_b",
            "-a",
            "a-",
            "a..b",
            "../x",
            "/x",
            "a/b",
            ".a",
            long.as_str(),
        ] {
            assert!(subdomain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn labels_and_values() {
        assert!(label("team-a").is_ok());
        assert!(label("a.b").is_err());
        assert!(label(&"a".repeat(64)).is_err());
        assert!(label_value("v1.0.0").is_ok());
        assert!(label_value("V_1").is_ok());
        for bad in ["", "v1/2", "v1..2", "-v", "v."] {
            assert!(label_value(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn script_files_stay_inside() {
        let ws = tempfile::tempdir().unwrap();
        let root = ws.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("p")).unwrap();
        std::fs::write(root.join("p/a.rhai"), "1").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", root.join("p/out.rhai")).unwrap();
        let dir = root.join("p");
        assert!(workspace_file(&root, &dir, "a.rhai").is_ok());
        assert!(workspace_file(&root, &dir, "missing.rhai").is_ok());
        assert!(workspace_file(&root, &dir, "/etc/passwd").is_err());
        assert!(workspace_file(&root, &dir, "../../../../etc/passwd").is_err());
        assert!(workspace_file(&root, &dir, "../../nothing/here").is_err());
        assert!(workspace_file(&root, &dir, "out.rhai").is_err());
    }

    #[test]
    fn store_paths() {
        assert!(store_path("clusters/dev").is_ok());
        for bad in [
            "/x", "a//b", "a/", "../x", "a/./b", ".vow", ".vow/x", "a\0b",
        ] {
            assert!(store_path(bad).is_err(), "{bad:?}");
        }
    }
}
