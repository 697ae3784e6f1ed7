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
            store::id5(dir)
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
