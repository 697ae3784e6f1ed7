//! The layout's tests: every path kind it builds is read back by its inverse.

use super::*;
use crate::model::FilepathMode;

fn request() -> InstanceRef {
    InstanceRef::request("db", "team-a", "orders")
}

#[test]
fn id5_matches_kratix() {
    // Kratix names the root workload group's directory 5058f (md5 of ".").
    assert_eq!(id5("."), "5058f");
}

#[test]
fn outputs_are_laid_out_by_filepath_mode() {
    let id = request();
    assert_eq!(
        output_dir(
            FilepathMode::NestedByMetadata,
            "clusters/dev",
            &id,
            "main",
            "."
        ),
        "clusters/dev/resources/team-a/db/orders/main/5058f"
    );
    assert_eq!(
        output_dir(
            FilepathMode::AggregatedYaml,
            "clusters/dev",
            &id,
            "main",
            "."
        ),
        ".vow/aggregated/clusters/dev/resources/team-a/db/orders/main/5058f"
    );
    assert_eq!(
        output_dir(FilepathMode::None, "clusters/dev", &id, "main", "."),
        "clusters/dev"
    );
    let deps = InstanceRef::dependencies("db");
    assert_eq!(
        output_dir(FilepathMode::NestedByMetadata, "c", &deps, "p", "."),
        "c/dependencies/db/p/5058f"
    );
}

#[test]
fn every_path_kind_round_trips_through_classify() {
    let id = request();
    let deps = InstanceRef::dependencies("db");
    for (i, aggregated) in [(id.clone(), false), (deps.clone(), true)]
        .into_iter()
        .flat_map(|(i, a)| [(i.clone(), a), (i, !a)])
    {
        let mode = if aggregated {
            FilepathMode::AggregatedYaml
        } else {
            FilepathMode::NestedByMetadata
        };
        let dir = output_dir(mode, "clusters/a/resources", &i, "main", "sub");
        assert_eq!(
            classify(&format!("{dir}/x/y.yaml")),
            Entry::Output {
                aggregated,
                dest: "clusters/a/resources".into(),
                id: i.clone(),
                pipeline: "main".into(),
                id5: id5("sub"),
                file: "x/y.yaml".into(),
            },
            "{dir}"
        );
    }
    for i in [&id, &deps] {
        assert_eq!(classify(&binding(i)), Entry::Binding(i.clone()));
        assert_eq!(
            classify(&backup("r1", 3, i)),
            Entry::Backup {
                run: "r1".into(),
                wave: 3,
                id: i.clone()
            }
        );
    }
    assert_eq!(
        classify(&revision_file("db", "1.2.0", "scripts/a.rhai")),
        Entry::Revision {
            promise: "db".into(),
            version: "1.2.0".into(),
            file: "scripts/a.rhai".into()
        }
    );
    assert_eq!(
        classify(&journal("ab12")),
        Entry::Journal { run: "ab12".into() }
    );
    assert_eq!(
        classify(&format!("{HEALTH_DIR}/h.yaml")),
        Entry::Health {
            file: "h.yaml".into()
        }
    );
    assert_eq!(classify(REDO_STAGED), Entry::RedoLog { committed: false });
    assert_eq!(classify(REDO_LOG), Entry::RedoLog { committed: true });
    assert_eq!(classify(FOLDER_LOCK), Entry::Lock);
    assert_eq!(
        classify(&aggregated_file("clusters/a", AGGREGATED_FILENAME)),
        Entry::Other
    );
    assert_eq!(classify(".vow/unknown"), Entry::OtherRecord);
    assert_eq!(classify("resources/a/b/c/d/e/f"), Entry::Other);
}

#[test]
fn output_of_finds_the_instance_past_a_resources_folder_in_the_destination() {
    let id = request();
    let path = format!(
        "{}/x.yaml",
        output_dir(
            FilepathMode::NestedByMetadata,
            "a/resources/b",
            &id,
            "p",
            "."
        )
    );
    assert_eq!(output_of(&path, &id), Some(("p", "5058f", "x.yaml")));
    assert_eq!(output_of("a/x.yaml", &id), None);
}

#[test]
fn locks_and_caches() {
    let dir = Path::new("/s/state");
    assert_eq!(
        lock_path(&StoreKind::Folder, dir),
        Path::new("/s/state/.vow/lock")
    );
    let git = StoreKind::Git {
        url: "u".into(),
        branch: Some("main".into()),
        author: None,
    };
    let cache = git_cache(Path::new("/w"), "file:///r.git", "main");
    assert!(cache.starts_with("/w/.vow/cache"));
    let name = cache.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("git-") && name.len() == 16, "{name}");
    assert_eq!(
        lock_path(&git, &cache),
        cache.with_file_name(format!("{name}.lock"))
    );
}

#[test]
fn git_cache_siblings_are_recognised() {
    let cache = Path::new("/w/.vow/cache/git-0123456789ab");
    for what in [GitCacheSibling::New, GitCacheSibling::Old] {
        let s = git_cache_sibling(cache, what, 42).unwrap();
        let name = s.file_name().unwrap().to_string_lossy().into_owned();
        assert!(is_git_cache_sibling(cache, &name), "{name}");
    }
    assert!(!is_git_cache_sibling(cache, "git-0123456789ab"));
    assert!(!is_git_cache_sibling(cache, "git-0123456789ab.lock"));
    assert_eq!(
        git_lock_files(cache, "main").last().unwrap(),
        &cache.join(".git/refs/remotes/origin/main.lock")
    );
}

#[test]
fn paths_from_untrusted_names_are_still_refused_by_the_wall() {
    // Building a path checks nothing; StorePath confines it when it is used.
    let hostile = InstanceRef::request("..", "ns", "x");
    for rel in [binding(&hostile), backup("r", 0, &hostile), journal("../x")] {
        assert!(super::super::path::StorePath::new(&rel).is_err(), "{rel}");
    }
}
