use super::*;

/// The tree libgit2 itself makes of `ops` on `parent`, in a plain handle (loose objects).
fn plain_tree(repo: &Repository, parent: Option<Oid>, ops: &[Op]) -> Oid {
    let mut update = git2::build::TreeUpdateBuilder::new();
    for op in ops {
        match op {
            Op::Write { path, bytes } => {
                let blob = repo.blob(bytes).unwrap();
                update.upsert(path.as_str(), blob, FileMode::Blob);
            }
            Op::Remove { path } => {
                update.remove(path.as_str());
            }
        }
    }
    let base = match parent {
        Some(id) => repo.find_tree(id).unwrap(),
        None => repo
            .find_tree(repo.treebuilder(None).unwrap().write().unwrap())
            .unwrap(),
    };
    update.create_updated(repo, &base).unwrap()
}

fn commit(repo: &Repository, tree: Oid, parent: Option<&git2::Commit<'_>>) -> Oid {
    let sig = git2::Signature::now("t", "t@example.com").unwrap();
    let tree = repo.find_tree(tree).unwrap();
    let parents: Vec<&git2::Commit<'_>> = parent.into_iter().collect();
    repo.commit(None, &sig, &sig, "m", &tree, &parents).unwrap()
}

/// Every object under `tree`, read back from the repository's own object database.
fn readable(repo: &Repository, tree: Oid) -> usize {
    let mut n = 0;
    repo.find_tree(tree)
        .unwrap()
        .walk(git2::TreeWalkMode::PreOrder, |_, e| {
            repo.find_object(e.id(), None).unwrap();
            n += 1;
            git2::TreeWalkResult::Ok
        })
        .unwrap();
    n
}

#[test]
fn a_wave_tree_is_the_tree_libgit2_makes_and_the_cache_reads_it() {
    // As every git store does before its first wave.
    super::super::bound_pack_maps();
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init_bare(dir.path()).unwrap();
    let first = [
        Op::write("clusters/a/x/one.yaml", "1"),
        Op::write("clusters/a/x/two.yaml", "2"),
        Op::write("clusters/b/y/three.yaml", "3"),
        Op::write("top.yaml", "t"),
    ];
    let (t1, same1) = build(&repo, None, &first).unwrap();
    // Read back before libgit2 writes the same objects loose.
    assert_eq!(readable(&repo, t1), 4 + 5, "four files, five folders");
    assert_eq!(t1, plain_tree(&repo, None, &first));
    assert_eq!(same1, [false; 4]);
    let c1 = repo.find_commit(commit(&repo, t1, None)).unwrap();
    let second = [
        Op::write("clusters/a/x/one.yaml", "1"),
        Op::write("clusters/a/x/two.yaml", "2, changed"),
        Op::remove("clusters/b/y/three.yaml"),
        Op::write("clusters/c/z/new.yaml", "n"),
        Op::write("clusters/a/x/deeper/f.yaml", "d"),
    ];
    let (t2, same2) = build(&repo, Some(&c1), &second).unwrap();
    readable(&repo, t2);
    assert_eq!(t2, plain_tree(&repo, Some(t1), &second));
    assert_eq!(same2, [true, false, false, false, false]);
    let tree = repo.find_tree(t2).unwrap();
    assert!(tree.get_path(std::path::Path::new("clusters/b")).is_err());
}
