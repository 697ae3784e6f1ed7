use super::*;
use std::collections::BTreeMap;

/// Every file under `root`, with its text.
fn tree(root: &Path) -> BTreeMap<String, String> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(root).unwrap().to_string_lossy();
            (rel.into_owned(), std::fs::read_to_string(e.path()).unwrap())
        })
        .collect()
}

/// Applies `ops` on `threads` threads to a store holding `before`.
fn applied(before: &[(&str, &str)], ops: &[Op], threads: usize) -> BTreeMap<String, String> {
    let tmp = tempfile::tempdir().unwrap();
    for (p, t) in before {
        let at = tmp.path().join(p);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(at, t).unwrap();
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| check(tmp.path(), ops).unwrap().apply(tmp.path(), ops, &[]))
        .unwrap();
    tree(tmp.path())
}

/// A wave's worth of operations: many instances' files, some rewritten, some removed.
fn wave() -> (Vec<(String, String)>, Vec<Op>) {
    let mut before = Vec::new();
    let mut ops = Vec::new();
    for i in 0..1500 {
        let dir = format!("clusters/c{}/i{i}", i % 7);
        before.push((format!("{dir}/old.yaml"), format!("old {i}")));
        ops.push(Op::write(&format!("{dir}/new.yaml"), &format!("new {i}")));
        // Every third instance loses its only old file; its folder stays for the new one.
        if i % 3 == 0 {
            ops.push(Op::remove(&format!("{dir}/old.yaml")));
        }
    }
    // A folder emptied by the batch goes.
    before.push(("gone/only.yaml".into(), "x".into()));
    ops.push(Op::remove("gone/only.yaml"));
    (before, ops)
}

#[test]
fn a_batch_leaves_what_applying_it_in_order_leaves_whatever_the_threads() {
    let (before, ops) = wave();
    let before: Vec<(&str, &str)> = before.iter().map(|(p, t)| (&**p, &**t)).collect();
    let one = applied(&before, &ops, 1);
    assert_eq!(one.len(), 1500 + 1000, "every new file, the old ones kept");
    assert_eq!(one.get("clusters/c0/i0/new.yaml").unwrap(), "new 0");
    assert!(!one.contains_key("clusters/c0/i0/old.yaml"));
    assert_eq!(one.get("clusters/c1/i1/old.yaml").unwrap(), "old 1");
    for threads in [2, 4] {
        assert_eq!(applied(&before, &ops, threads), one, "{threads} threads");
    }
}

#[test]
fn a_path_named_twice_ends_as_its_last_operation_says() {
    let ops = [
        Op::write("a/x.yaml", "1"),
        Op::remove("a/x.yaml"),
        Op::remove("b/y.yaml"),
        Op::write("b/y.yaml", "2"),
        Op::write("c/z.yaml", "3"),
        Op::write("c/z.yaml", "4"),
    ];
    let got = applied(&[("b/y.yaml", "0")], &ops, 4);
    let want: BTreeMap<String, String> = [("b/y.yaml", "2"), ("c/z.yaml", "4")]
        .into_iter()
        .map(|(p, t)| (p.into(), t.into()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn the_first_refused_path_in_order_is_named_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("real")).unwrap();
    for link in ["l1", "l2"] {
        std::os::unix::fs::symlink(outside.path(), tmp.path().join(link)).unwrap();
    }
    let mut ops: Vec<Op> = (0..4000)
        .map(|i| Op::write(&format!("real/f{i}.yaml"), "x"))
        .collect();
    ops[3000] = Op::write("l2/a.yaml", "x");
    ops[3500] = Op::write("l1/b.yaml", "x");
    for threads in [1, 2, 4] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let e = pool
            .install(|| check(tmp.path(), &ops).err())
            .expect("refused");
        assert!(e.to_string().contains("`l2` is a symlink"), "{e}");
    }
    assert_eq!(
        std::fs::read_dir(tmp.path().join("real")).unwrap().count(),
        0
    );
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[test]
fn skipped_operations_leave_their_files_as_they_are() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("keep.yaml"), "before").unwrap();
    let ops = [Op::write("keep.yaml", "after"), Op::write("new.yaml", "n")];
    let batch = check(tmp.path(), &ops).unwrap();
    let paths: Vec<&str> = batch.paths().map(StorePath::as_str).collect();
    assert_eq!(paths, ["keep.yaml", "new.yaml"]);
    batch.apply(tmp.path(), &ops, &[true, false]).unwrap();
    let got = tree(tmp.path());
    assert_eq!(got.get("keep.yaml").unwrap(), "before");
    assert_eq!(got.get("new.yaml").unwrap(), "n");
}

#[test]
fn ranges_cover_every_operation_once() {
    for (len, threads) in [(0, 2), (1, 2), (511, 8), (512, 1), (5000, 2), (60000, 3)] {
        let r = ranges(len, threads);
        let covered: Vec<usize> = r.iter().flat_map(Clone::clone).collect();
        assert_eq!(covered, (0..len).collect::<Vec<_>>(), "{len} {threads}");
        assert!(r.iter().all(|r| !r.is_empty()));
    }
}
