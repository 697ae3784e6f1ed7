//! The wave's backup file, joined from entries made in parallel, is the bytes serde_json
//! writes for the whole tree.

use super::*;
use proptest::prelude::*;

fn joined(all: &WaveBackup) -> Vec<u8> {
    // In an order other than the file's: the join sorts.
    let entries = all
        .instances
        .iter()
        .rev()
        .map(|(k, b)| (k.clone(), backup_entry(k, b).unwrap()))
        .collect();
    backup_file(entries)
}

fn expected(all: &WaveBackup) -> Vec<u8> {
    serde_json::to_vec_pretty(all).unwrap()
}

#[test]
fn awkward_backups_join_to_serde_jsons_bytes() {
    let mut all = WaveBackup::default();
    let before = |pairs: &[(&str, Option<&str>)]| {
        pairs
            .iter()
            .map(|(p, c)| (p.to_string(), c.map(str::to_string)))
            .collect()
    };
    all.instances.insert(
        "redis:default/a".into(),
        Backup {
            binding: Some("kind: Binding\nspec:\n  version: v1\n".into()),
            before: before(&[
                ("x/a.yaml", Some("a: \"q\"\n\tb: é ✓ \u{7}\n")),
                ("x/b", None),
            ]),
        },
    );
    all.instances.insert("p:n/new".into(), Backup::default());
    all.instances.insert(
        "p:n/\"quoted\"\\".into(),
        Backup {
            binding: None,
            before: before(&[("", Some(""))]),
        },
    );
    assert_eq!(
        String::from_utf8(joined(&all)),
        String::from_utf8(expected(&all))
    );
    // The file rollback reads back is the tree it was made from.
    let read: WaveBackup = serde_json::from_slice(&joined(&all)).unwrap();
    assert_eq!(read.instances.len(), 3);
    assert_eq!(
        read.instances["redis:default/a"].before["x/a.yaml"].as_deref(),
        Some("a: \"q\"\n\tb: é ✓ \u{7}\n")
    );
}

#[test]
fn one_instance_joins_to_serde_jsons_bytes() {
    let mut all = WaveBackup::default();
    all.instances.insert("p:n/a".into(), Backup::default());
    assert_eq!(joined(&all), expected(&all));
}

proptest! {
    #[test]
    fn any_backups_join_to_serde_jsons_bytes(
        instances in prop::collection::btree_map(
            "\\PC{0,12}",
            (
                prop::option::of("\\PC{0,40}"),
                prop::collection::btree_map("\\PC{0,12}", prop::option::of("(\\PC|\n|\t){0,40}"), 0..4),
            ),
            1..6,
        )
    ) {
        let all = WaveBackup {
            instances: instances
                .into_iter()
                .map(|(k, (binding, before))| (k, Backup { binding, before }))
                .collect(),
        };
        prop_assert_eq!(joined(&all), expected(&all));
    }
}
