//! Kratix's layout of rendered files in a Destination, and how a rendered document is written.

use super::{Evaluated, OutFile};
use crate::model::{Destination, FilepathMode, Pipeline};
use crate::script::OutputDoc;
use crate::store;

/// Lays a workload group's files out in a destination, as Kratix does:
/// `<destination>/<resources/ns/promise/name | dependencies/promise>/<pipeline>/<id5>/<file>`.
pub(super) fn write_group(
    ev: &mut Evaluated,
    dest: &Destination,
    pipeline: &Pipeline,
    dir: &str,
    files: &[(String, &OutputDoc)],
) {
    // `filepath.mode: none`: the files go to the destination's path as they are named.
    let root = match dest.mode {
        FilepathMode::None => None,
        FilepathMode::NestedByMetadata => Some(dest.path.clone()),
        FilepathMode::AggregatedYaml => Some(store::aggregated_parts(&dest.path)),
    };
    let base = match root {
        None => dest.path.clone(),
        Some(root) => format!(
            "{}/{}/{}",
            store::instance_dir(&root, &ev.id),
            pipeline.name,
            group_id5(dir)
        ),
    };
    for (rel, doc) in files {
        let content = render_file(doc);
        let digest = store::digest(content.as_bytes());
        ev.files.push(OutFile {
            path: format!("{base}/{rel}").into(),
            content,
            digest: digest.into(),
        });
    }
}

/// The `<id5>` of a workload group directory. Almost every group is the root (`.`), whose id
/// is a constant: it is hashed once per process instead of once per request and group.
fn group_id5(dir: &str) -> String {
    static ROOT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if dir == "." {
        ROOT.get_or_init(|| store::id5(".")).clone()
    } else {
        store::id5(dir)
    }
}

/// A file's content: documents as multi-document YAML, or the text as given.
pub fn render_file(doc: &OutputDoc) -> String {
    match doc {
        OutputDoc::Text(t) => t.clone(),
        OutputDoc::Docs(docs) => {
            let mut out = String::new();
            for (i, d) in docs.iter().enumerate() {
                if i > 0 {
                    out.push_str("---\n");
                }
                match crate::yaml_writer::to_string(d) {
                    Some(text) => out.push_str(&text),
                    None => out.push_str(&serde_yaml::to_string(d).unwrap_or_default()),
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_root_id_is_the_hashed_one() {
        // Twice: the second comes from the kept value.
        for _ in 0..2 {
            assert_eq!(group_id5("."), "5058f");
        }
        assert_eq!(group_id5("sub"), store::id5("sub"));
    }
}
