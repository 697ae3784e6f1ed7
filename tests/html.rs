//! The HTML reports (`--format html`, docs/reports.md) in a real browser: the example's plan
//! and scan pages are loaded by headless `chromium` with a filter in the URL fragment, and the
//! DOM after the page's script has run must show only that team's rows, in the numbers the
//! plan and scan JSON give. Each page is also checked to be well-formed (an XML parse: every
//! element closed and nested, every attribute quoted) and to come out of the browser's parser
//! with exactly the elements it was written with (nothing auto-closed or inserted). The pages
//! and a screenshot of each are kept in `target/test-artifacts/`.
//!
//! Without `chromium` the browser checks skip loudly; under `CI=true` they fail (.ci/run
//! installs it).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::exit,
    reason = "a test fails loudly; the library may not"
)]

mod common;
use common::{repo, scratch_workspace, vow, vow_example, write};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const NOW: &str = "2026-12-01T09:00:00Z";

/// Where the pages and screenshots are kept for people (CI uploads the folder).
fn artifacts() -> PathBuf {
    let dir = repo().join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The headless browser, or `None` (said loudly; a failure under `CI=true`).
fn chromium() -> Option<&'static str> {
    for name in ["chromium", "chromium-browser"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if found {
            return Some(name);
        }
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI must have `chromium` (.ci/run installs it)"
    );
    eprintln!("!!! `chromium` not found: the browser checks of the HTML reports did not run !!!");
    None
}

fn headless(browser: &str, extra: &[&str], url: &str) -> String {
    // A profile of its own: runs in parallel must not share one.
    let profile = tempfile::tempdir().unwrap();
    // coreutils' timeout: a browser that hangs fails the test instead of the CI job.
    let out = Command::new("timeout")
        .args([
            "120",
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{browser} failed on {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The DOM of `page#fragment` after its script ran; and a screenshot of it, kept as `png`.
fn load(browser: &str, page: &Path, fragment: &str, png: &str) -> String {
    let url = format!("file://{}#{fragment}", page.display());
    let shot = artifacts().join(png);
    headless(
        browser,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000",
        ],
        &url,
    );
    assert!(shot.is_file(), "no screenshot at {}", shot.display());
    headless(browser, &["--dump-dom"], &url)
}

/// Writes `vow <args>` of the example to `target/test-artifacts/<name>`.
fn page(name: &str, args: &[&str]) -> PathBuf {
    let (code, out, err) = vow_example(args);
    assert!(code == 0 || code == 1, "vow {args:?}: {err}");
    let path = artifacts().join(name);
    std::fs::write(&path, &out).unwrap();
    path
}

fn json(args: &[&str]) -> serde_json::Value {
    let (_, out, err) = vow_example(args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("vow {args:?}: {e}: {err}"))
}

/// The `<tr class="row" ...>` tags of `dom` as their attributes, in page order.
fn rows(dom: &str) -> Vec<BTreeMap<String, String>> {
    dom.match_indices("<tr class=\"row\"")
        .map(|(at, _)| {
            let tag = &dom[at..at + dom[at..].find('>').unwrap()];
            attrs(tag)
        })
        .collect()
}

/// `a="b" c=""` → {a: b, c: ""}; values are written escaped, so they hold no `"`.
fn attrs(tag: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for part in tag.split('"').collect::<Vec<_>>().chunks(2) {
        if let [name, value] = part {
            let name = name.trim().trim_end_matches('=');
            let name = name.rsplit(' ').next().unwrap();
            out.insert(name.to_string(), value.to_string());
        } else if let [rest] = part {
            // A bare attribute (`hidden`) the browser may write without a value.
            for name in rest.split_whitespace().filter(|n| !n.contains('=')) {
                out.insert(name.to_string(), String::new());
            }
        }
    }
    out
}

fn visible(rows: &[BTreeMap<String, String>]) -> Vec<&BTreeMap<String, String>> {
    rows.iter().filter(|r| !r.contains_key("hidden")).collect()
}

/// The number in `<span id="ID">N</span>` or `<td ... id="ID">N</td>`.
fn number(dom: &str, id: &str) -> u64 {
    let key = format!("id=\"{id}\">");
    let at = dom.find(&key).unwrap_or_else(|| panic!("no #{id}")) + key.len();
    let digits: String = dom[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap()
}

/// The page as XML, with the script's and style's text left out (their `<` and `&` are code):
/// an error if an element is not closed, closed out of order, or an attribute is unquoted.
fn well_formed(html: &str) -> Result<BTreeMap<String, usize>, String> {
    let mut text = String::new();
    let mut rest = html;
    for (open, close) in [("<style>", "</style>"), ("<script>", "</script>")] {
        let a = rest.find(open).ok_or(format!("no {open}"))? + open.len();
        let b = rest.find(close).ok_or(format!("no {close}"))?;
        text.push_str(&rest[..a]);
        rest = &rest[b..];
    }
    text.push_str(rest);
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut starts: BTreeMap<String, usize> = BTreeMap::new();
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => return Ok(starts),
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                *starts.entry(name).or_default() += 1;
            }
            Ok(_) => {}
            Err(e) => {
                return Err(format!(
                    "not well-formed at byte {}: {e}",
                    reader.buffer_position()
                ))
            }
        }
    }
}

/// How many elements of each name the browser's DOM has.
fn elements(dom: &str, names: &BTreeMap<String, usize>) -> BTreeMap<String, usize> {
    names
        .keys()
        .map(|n| {
            let open = format!("<{n}");
            let count = dom
                .match_indices(&open)
                .filter(|(at, _)| {
                    matches!(dom[at + open.len()..].chars().next(), Some(' ' | '>' | '/'))
                })
                .count();
            (n.clone(), count)
        })
        .collect()
}

/// The browser's parse keeps exactly the elements written (nothing closed early or added).
fn same_elements(html: &str, dom: &str) {
    let written = well_formed(html).unwrap();
    assert_eq!(
        elements(dom, &written),
        written,
        "the browser's DOM differs"
    );
}

#[test]
fn the_plan_page_filters_by_team_and_counts_as_the_plan() {
    let plan = json(&["plan", "--now", NOW, "--format", "json"]);
    let path = page("plan.html", &["plan", "--now", NOW, "--format", "html"]);
    let html = std::fs::read_to_string(&path).unwrap();
    well_formed(&html).unwrap();
    let Some(browser) = chromium() else { return };

    let all = load(browser, &path, "", "plan.png");
    same_elements(&html, &all);
    let every = rows(&all);
    let s = &plan["summary"];
    let n = |k: &str| s[k].as_u64().unwrap();
    assert_eq!(visible(&every).len(), every.len(), "no filter: every row");
    assert_eq!(number(&all, "shown-count"), every.len() as u64);
    // Unchanged instances are in no wave (the summary counts them).
    let listed = n("create") + n("update") + n("delete");
    let held = n("blocked") + n("pinned") + n("paused");
    assert_eq!(every.len() as u64, listed + held);
    // Without the script the page is its markup (the browser's parse keeps every element, as
    // checked above): every row shown, the filter form hidden. (Chromium's --dump-dom needs
    // scripts on, so the written page is checked.)
    assert_eq!(visible(&rows(&html)).len(), every.len());
    let form = "<section id=\"filters\" aria-labelledby=\"filters-h\"";
    assert!(html.contains(&format!("{form} hidden=\"hidden\">")));
    assert!(
        all.contains(&format!("{form}>")),
        "the script shows the form"
    );
    for k in ["requests", "create", "update", "delete", "blocked", "waves"] {
        assert_eq!(number(&all, &format!("count-{k}")), n(k), "count-{k}");
    }

    let (team, counts) = plan["counts"]["byTeam"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(t, _)| *t != "(none)")
        .unwrap();
    let dom = load(browser, &path, &format!("team={team}"), "plan-team.png");
    let shown = visible(&rows(&dom))
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    assert!(shown.iter().all(|r| r["data-team"] == *team), "{shown:?}");
    let of = |action: &str| shown.iter().filter(|r| r["data-action"] == action).count() as u64;
    for action in ["create", "update", "delete", "blocked"] {
        assert_eq!(
            of(action),
            counts[action].as_u64().unwrap(),
            "{team} {action}"
        );
    }
    assert_eq!(number(&dom, "shown-count"), shown.len() as u64);

    // Two filters at once, read from the query as well as the fragment.
    let url = format!("file://{}?team={team}&action=update", path.display());
    let dom = headless(browser, &["--dump-dom"], &url);
    let shown = rows(&dom);
    let shown = visible(&shown);
    assert_eq!(shown.len() as u64, counts["update"].as_u64().unwrap());
}

#[test]
fn the_scan_page_filters_by_team_and_counts_as_the_scan() {
    let scan = json(&["scan", "--now", NOW, "--format", "json"]);
    let path = page("scan.html", &["scan", "--now", NOW, "--format", "html"]);
    let html = std::fs::read_to_string(&path).unwrap();
    well_formed(&html).unwrap();
    let Some(browser) = chromium() else { return };

    let all = load(browser, &path, "", "scan.png");
    same_elements(&html, &all);
    let c = &scan["compliance"];
    let total = c["total"]["instances"].as_u64().unwrap();
    let instance_rows = |dom: &str| {
        let at = dom.find("id=\"instances\"").unwrap();
        let end = at + dom[at..].find("</section>").unwrap();
        rows(&dom[at..end])
    };
    assert_eq!(instance_rows(&all).len() as u64, total);
    for k in ["critical", "high", "medium", "low"] {
        assert_eq!(
            number(&all, &format!("count-{k}")),
            scan["summary"][k].as_u64().unwrap()
        );
    }

    let (team, stat) = c["byTeam"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(t, _)| *t != "(none)")
        .unwrap();
    let dom = load(browser, &path, &format!("team={team}"), "scan-team.png");
    let all_rows = rows(&dom);
    let shown = visible(&all_rows);
    assert!(shown.iter().all(|r| r["data-team"] == *team));
    let instances = instance_rows(&dom);
    let instances = visible(&instances);
    assert_eq!(instances.len() as u64, stat["instances"].as_u64().unwrap());
    let compliant = instances
        .iter()
        .filter(|r| r["data-action"] == "compliant")
        .count() as u64;
    assert_eq!(compliant, stat["compliant"].as_u64().unwrap());
}

#[test]
fn a_saved_plan_shows_as_the_same_page_without_labels() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("plan.json");
    let saved = saved.to_str().unwrap();
    let (code, _, err) = vow_example(&["plan", "--now", NOW, "--out", saved, "--format", "json"]);
    assert!(code == 0 || code == 1, "{err}");
    let (code, html, err) = vow(&["show", saved, "--format", "html"]);
    assert_eq!(code, 0, "{err}");
    well_formed(&html).unwrap();
    assert!(html.contains("keeps no labels"));
    std::fs::write(artifacts().join("show.html"), &html).unwrap();
}

#[test]
fn the_pages_are_byte_identical_whatever_the_threads() {
    for args in [
        ["plan", "--now", NOW, "--format", "html"],
        ["scan", "--now", NOW, "--format", "html"],
    ] {
        let one = vow_example(&[&["-j", "1"][..], &args[..]].concat()).1;
        let four = vow_example(&[&["-j", "4"][..], &args[..]].concat()).1;
        assert!(one.starts_with("<!DOCTYPE html>"));
        assert_eq!(one, four, "{args:?}");
        for outside in ["http://", "https://", "src=", "@import", "url("] {
            assert!(!one.contains(outside), "{args:?} loads {outside}");
        }
    }
}

/// Hostile labels and values: escaped everywhere, so the page keeps its one script.
#[test]
fn hostile_values_are_escaped() {
    let ws = scratch_workspace();
    let hostile = r#"<script>alert("x")</script> & 'q'"#;
    let request = format!(
        "apiVersion: example.com/v1\nkind: DB\nmetadata:\n  name: a\n  namespace: team-a\n  labels: {{env: dev, team: '{}'}}\nspec:\n  size: 3\n",
        hostile.replace('\'', "''")
    );
    write(ws.path(), "requests/a.yaml", &request);
    let root = ws.path().to_str().unwrap();
    let (_, html, err) = vow(&["-C", root, "plan", "--now", NOW, "--format", "html"]);
    assert!(html.starts_with("<!DOCTYPE html>"), "{err}");
    let names = well_formed(&html).unwrap();
    assert_eq!(names["script"], 1, "only the page's own script");
    assert!(!html.contains(hostile));
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;"));
    let Some(browser) = chromium() else { return };
    let path = artifacts().join("hostile.html");
    std::fs::write(&path, &html).unwrap();
    let dom = headless(
        browser,
        &["--dump-dom"],
        &format!("file://{}", path.display()),
    );
    same_elements(&html, &dom);

    // Defence in depth: were a script ever let through, the page's Content-Security-Policy
    // would not run it (only the page's own script, by its hash, runs).
    let injected = html.replace(
        "</body>",
        "<script>document.body.setAttribute('data-pwned', 'yes')</script></body>",
    );
    let path = artifacts().join("injected.html");
    std::fs::write(&path, injected).unwrap();
    let dom = headless(
        browser,
        &["--dump-dom"],
        &format!("file://{}", path.display()),
    );
    assert!(
        !dom.contains("data-pwned=\"yes\""),
        "an injected script ran"
    );
    let shown = "<section id=\"filters\" aria-labelledby=\"filters-h\">";
    assert!(dom.contains(shown), "the page's own script ran");
}

/// The other pages: a plan without `--now` (no times), one Promise's plan, and `vow check`.
#[test]
fn every_page_is_well_formed() {
    let cases: [(&[&str], &str); 3] = [
        (
            &["plan", "--format", "html"],
            "made without <code>--now</code>",
        ),
        (
            &[
                "plan",
                "--now",
                NOW,
                "--promise",
                "redis",
                "--format",
                "html",
            ],
            "for Promise <code>redis</code> only",
        ),
        (
            &["check", "--now", NOW, "--format", "html"],
            "<h1>vow check</h1>",
        ),
    ];
    for (args, says) in cases {
        let (code, html, err) = vow_example(args);
        assert!(code == 0 || code == 1, "{args:?}: {err}");
        well_formed(&html).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert!(html.contains(says), "{args:?} does not say {says}");
    }
}
