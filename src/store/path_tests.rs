use super::*;

#[test]
fn hostile_paths_are_refused() {
    let long = "x".repeat(256);
    for bad in [
        "",
        "/etc/passwd",
        "..",
        "../outside",
        "a/../../b",
        "a/./b",
        "./a",
        "a//b",
        "a/",
        "a\0b",
        "a\\..\\b",
        long.as_str(),
        "clusters/dev/resources/team-c/app/../../../../../../x",
    ] {
        assert!(StorePath::new(bad).is_err(), "{bad:?} was accepted");
    }
    assert!(StorePath::new(&"x".repeat(255)).is_ok());
    assert!(
        StorePath::new("clusters/dev/resources/a/app/web/instance-configure/5058f/d.yaml").is_ok()
    );
    assert!(
        StorePath::new("a/..b/c..").is_ok(),
        "dots inside a name are fine"
    );
}

#[test]
fn a_file_is_rewritten_in_place_but_never_through_a_link() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    std::fs::create_dir_all(root.join("a")).unwrap();
    let mut checked = Checked::default();
    let sp = StorePath::new("a/f.yaml").unwrap();
    sp.overwrite_in(&root, b"a longer first text", &mut checked)
        .unwrap();
    let ino = std::fs::metadata(root.join("a/f.yaml")).unwrap().ino();
    sp.overwrite_in(&root, b"short", &mut checked).unwrap();
    assert_eq!(std::fs::read(root.join("a/f.yaml")).unwrap(), b"short");
    assert_eq!(std::fs::metadata(root.join("a/f.yaml")).unwrap().ino(), ino);
    // A hard link to a file outside: replaced, the outside file untouched.
    let outside = tmp.path().join("outside");
    std::fs::write(&outside, "theirs").unwrap();
    std::fs::hard_link(&outside, root.join("a/g.yaml")).unwrap();
    let g = StorePath::new("a/g.yaml").unwrap();
    g.overwrite_in(&root, b"ours", &mut checked).unwrap();
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "theirs");
    assert_eq!(std::fs::read(root.join("a/g.yaml")).unwrap(), b"ours");
    // A symlink is refused by the wall, not written through.
    std::os::unix::fs::symlink(&outside, root.join("a/h.yaml")).unwrap();
    let h = StorePath::new("a/h.yaml").unwrap();
    assert!(h.overwrite_in(&root, b"x", &mut checked).is_err());
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "theirs");
}

#[test]
fn symlinks_in_the_store_are_never_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret"), "s").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("dest")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret"), root.join("file")).unwrap();

    let through_dir = StorePath::new("dest/secret").unwrap();
    assert!(through_dir.under(&root).is_err());
    assert!(through_dir.read(&root).is_err());
    assert!(through_dir.replace(&root, b"x").is_err());
    assert!(through_dir.remove(&root).is_err());
    assert!(StorePath::new("dest/new/deep.yaml")
        .unwrap()
        .replace(&root, b"x")
        .is_err());

    let link = StorePath::new("file").unwrap();
    assert!(link.read(&root).is_err());
    assert!(link.remove(&root).is_err());
    assert_eq!(
        std::fs::read_to_string(outside.join("secret")).unwrap(),
        "s"
    );
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 1);
}

#[test]
fn files_are_written_read_and_removed_inside() {
    let tmp = tempfile::tempdir().unwrap();
    let p = StorePath::new("a/b/c.yaml").unwrap();
    assert_eq!(p.read(tmp.path()).unwrap(), None);
    p.replace(tmp.path(), b"hi").unwrap();
    assert_eq!(p.read(tmp.path()).unwrap().as_deref(), Some(&b"hi"[..]));
    p.remove(tmp.path()).unwrap();
    assert!(
        !tmp.path().join("a").exists(),
        "empty directories are removed"
    );
    assert!(tmp.path().exists());
    p.remove(tmp.path()).unwrap();
}

#[test]
fn check_all_refuses_the_whole_set() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(check_all(tmp.path(), ["a", "../b"]).is_err());
    assert_eq!(check_all(tmp.path(), ["a", "b/c"]).unwrap().len(), 2);
}

#[test]
fn a_refused_read_names_the_part_that_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(root.join("dir/sub")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("f.yaml"), "secret").unwrap();
    std::fs::write(root.join("plain"), "x").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("dir/link")).unwrap();
    let refused = |rel: &str| StorePath::new(rel).unwrap().read(&root).unwrap_err();
    let e = refused("dir/link/f.yaml").to_string();
    assert!(e.contains("`dir/link` is a symlink"), "{e}");
    let e = refused("plain/f.yaml").to_string();
    assert!(e.contains("`plain` is not a directory"), "{e}");
    let e = refused("dir/sub").to_string();
    assert!(e.contains("it is a directory"), "{e}");
    let missing = StorePath::new("dir/nothing/f.yaml").unwrap();
    assert_eq!(missing.read(&root).unwrap(), None);
    assert_eq!(
        StorePath::new("plain")
            .unwrap()
            .read(&root)
            .unwrap()
            .unwrap(),
        b"x"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_fifo_in_the_store_is_refused_not_waited_on() {
    use rustix::fs::{FileType, Mode};
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("a")).unwrap();
    let fifo = tmp.path().join("a/p.yaml");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        FileType::Fifo,
        Mode::RUSR | Mode::WUSR,
        0,
    )
    .unwrap();
    let e = StorePath::new("a/p.yaml")
        .unwrap()
        .read(tmp.path())
        .unwrap_err();
    assert!(e.to_string().contains("it is not a regular file"), "{e}");
}
