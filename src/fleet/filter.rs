//! The filters of `vow fleet` and `vow catalog`: `--team`, `--env`, `--promise` and
//! `--selector`, a label selector in kubectl's `-l` syntax (`env=prod,tier!=dev`,
//! `region in (eu-west-1,us-east-1)`, `team notin (ml)`, `cost-centre`, `!paused`), parsed into
//! the [`Selector`] that rollouts, windows and rules use, so it matches the same way.

use crate::model::{InstanceRef, Labels, Operator, Requirement, Selector};

/// Which instances to keep; an empty filter keeps all.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub teams: Vec<String>,
    pub environments: Vec<String>,
    pub promises: Vec<String>,
    pub selector: Selector,
}

impl Filter {
    /// Whether the instance passes every filter given (each list: any of its values).
    pub fn keeps(&self, id: &InstanceRef, labels: &Labels, team_key: &str, env_key: &str) -> bool {
        let any = |wanted: &[String], value: Option<&String>| {
            wanted.is_empty() || value.is_some_and(|v| wanted.contains(v))
        };
        any(&self.promises, Some(&id.promise))
            && any(&self.teams, labels.get(team_key))
            && any(&self.environments, labels.get(env_key))
            && self.selector.matches(labels)
    }
}

/// Parses a selector: requirements separated by commas (outside parentheses).
pub fn parse_selector(text: &str) -> Result<Selector, String> {
    let mut sel = Selector::default();
    for part in split_top(text) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        requirement(part, &mut sel).map_err(|why| {
            format!("--selector {text:?}: {why} in {part:?}; write `key=value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`, `key` or `!key`, separated by commas")
        })?;
    }
    Ok(sel)
}

fn split_top(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(text.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(text.get(start..).unwrap_or(""));
    out
}

fn requirement(part: &str, sel: &mut Selector) -> Result<(), String> {
    let push = |sel: &mut Selector, key: &str, operator, values: Vec<String>| {
        sel.match_expressions.push(Requirement {
            key: key.to_string(),
            operator,
            values,
        });
    };
    if let Some(key) = part.strip_prefix('!') {
        push(sel, valid_key(key.trim())?, Operator::DoesNotExist, vec![]);
    } else if let Some((k, v)) = part.split_once("!=") {
        push(
            sel,
            valid_key(k.trim())?,
            Operator::NotIn,
            vec![v.trim().to_string()],
        );
    } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
        sel.match_labels
            .insert(valid_key(k.trim())?.to_string(), v.trim().to_string());
    } else if let Some((k, vs)) = set_form(part, " notin ") {
        push(sel, valid_key(k)?, Operator::NotIn, vs?);
    } else if let Some((k, vs)) = set_form(part, " in ") {
        push(sel, valid_key(k)?, Operator::In, vs?);
    } else {
        push(sel, valid_key(part)?, Operator::Exists, vec![]);
    }
    Ok(())
}

/// `key in (a,b)`: the key and the values.
fn set_form<'a>(part: &'a str, op: &str) -> Option<(&'a str, Result<Vec<String>, String>)> {
    let (k, rest) = part.split_once(op)?;
    let rest = rest.trim();
    let values = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .map(|inner| {
            inner
                .split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect()
        })
        .ok_or_else(|| "the values of `in`/`notin` go in parentheses".to_string());
    Some((k.trim(), values))
}

fn valid_key(key: &str) -> Result<&str, String> {
    let ok = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if ok {
        Ok(key)
    } else {
        Err(format!("{key:?} is not a label key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn kubectl_forms_match_as_kubernetes_does() {
        let s = parse_selector(
            "env=prod, region in (eu-west-1, us-east-1),team notin (ml),tier,!paused",
        )
        .unwrap();
        let yes = labels(&[
            ("env", "prod"),
            ("region", "eu-west-1"),
            ("team", "data"),
            ("tier", "x"),
        ]);
        assert!(s.matches(&yes));
        let mut no = yes.clone();
        no.insert("paused".into(), "true".into());
        assert!(!s.matches(&no));
        let ml = labels(&[
            ("env", "prod"),
            ("region", "eu-west-1"),
            ("team", "ml"),
            ("tier", "x"),
        ]);
        assert!(!s.matches(&ml));
        let ne = parse_selector("env!=prod").unwrap();
        assert!(!ne.matches(&labels(&[("env", "prod")])));
        assert!(ne.matches(&labels(&[])));
    }

    #[test]
    fn bad_selectors_say_what_to_write() {
        for bad in ["env in prod", "=x", "a b"] {
            let err = parse_selector(bad).unwrap_err();
            assert!(err.contains("key=value"), "{bad}: {err}");
        }
    }
}
