//! The standard library platform scripts need beyond Rhai's built-ins: version comparison,
//! durations and dates (no clock: only arithmetic on given times), CIDR membership, hashing,
//! encoding and a few string helpers. Every function is pure.

use super::limits::charge;
use base64::Engine as _;
use rhai::{Dynamic, Engine, EvalAltResult, ImmutableString};
use sha2::Digest;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;

type R<T> = Result<T, Box<EvalAltResult>>;

pub(super) fn register(engine: &mut Engine) {
    engine.register_fn("version_cmp", |a: &str, b: &str| ord(version_cmp(a, b)));
    engine.register_fn("semver_matches", semver_matches);
    engine.register_fn("parse_duration", |s: &str| -> R<i64> {
        Ok(crate::duration::parse_duration(s)?)
    });
    engine.register_fn("format_duration", crate::duration::format_duration);
    engine.register_fn("date_to_unix", |s: &str| -> R<i64> {
        Ok(crate::duration::parse_time(s)?.timestamp())
    });
    engine.register_fn("unix_to_date", |t: i64| -> R<String> {
        let dt = chrono::DateTime::from_timestamp(t, 0).ok_or("unix_to_date(): out of range")?;
        Ok(crate::duration::format_time(dt))
    });
    engine.register_fn("days_between", |a: &str, b: &str| -> R<i64> {
        let (a, b) = (
            crate::duration::parse_time(a)?,
            crate::duration::parse_time(b)?,
        );
        Ok((b - a).num_days())
    });
    engine.register_fn("cidr_contains", cidr_contains);
    engine.register_fn("cidr_overlaps", cidr_overlaps);
    // What does work in proportion to its input is charged for it (see `limits`).
    engine.register_fn("sha256", |s: &str| {
        charge(s.len());
        format!("{:x}", sha2::Sha256::digest(s))
    });
    engine.register_fn("md5", |s: &str| {
        charge(s.len());
        format!("{:x}", md5::Md5::digest(s))
    });
    engine.register_fn("slug", |s: &str| {
        charge(s.len());
        slug(s)
    });
    engine.register_fn("base64_encode", |s: &str| {
        charge(s.len());
        base64::engine::general_purpose::STANDARD.encode(s)
    });
    engine.register_fn("base64_decode", |s: &str| -> R<String> {
        charge(s.len());
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map_err(|e| format!("base64_decode(): {e}"))?;
        Ok(String::from_utf8(bytes).map_err(|_| "base64_decode(): the result is not text")?)
    });
    engine.register_fn("matches", matches);
    // Exact-type forms too: Rhai's own `to_json` for maps would otherwise win, unbounded.
    engine.register_fn("to_json", to_json);
    engine.register_fn("to_json", |m: rhai::Map| to_json(Dynamic::from_map(m)));
    engine.register_fn("to_json", |a: rhai::Array| to_json(Dynamic::from_array(a)));
    engine.register_fn("to_yaml", to_yaml);
    engine.register_fn("to_yaml", |m: rhai::Map| to_yaml(Dynamic::from_map(m)));
    engine.register_fn("to_yaml", |a: rhai::Array| to_yaml(Dynamic::from_array(a)));
}

fn to_json(d: Dynamic) -> R<String> {
    let v = super::from_dynamic(&d).map_err(|e| format!("to_json(): {e}"))?;
    let text = v.to_string();
    charge(text.len());
    Ok(text)
}

fn to_yaml(d: Dynamic) -> R<String> {
    let v = super::from_dynamic(&d).map_err(|e| format!("to_yaml(): {e}"))?;
    let text = serde_yaml::to_string(&v).map_err(|e| format!("to_yaml(): {e}"))?;
    charge(text.len());
    Ok(text)
}

fn ord(o: Ordering) -> i64 {
    match o {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

/// Compares versions: by semver precedence when both parse as semver (a leading `v` allowed),
/// otherwise as dotted numbers (`15.7` < `15.10`), comparing non-numeric parts as text.
pub fn version_cmp(a: &str, b: &str) -> Ordering {
    let strip = |s: &str| s.trim().trim_start_matches('v').to_string();
    let (sa, sb) = (strip(a), strip(b));
    if let (Ok(va), Ok(vb)) = (semver::Version::parse(&sa), semver::Version::parse(&sb)) {
        return va.cmp(&vb);
    }
    let pa: Vec<&str> = sa.split(['.', '-', '+']).collect();
    let pb: Vec<&str> = sb.split(['.', '-', '+']).collect();
    for i in 0..pa.len().max(pb.len()) {
        let (x, y) = (
            pa.get(i).copied().unwrap_or("0"),
            pb.get(i).copied().unwrap_or("0"),
        );
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

fn semver_matches(version: &str, req: &str) -> R<bool> {
    let v = version.trim().trim_start_matches('v');
    // Two-part versions such as PostgreSQL's `15.7` are read as `15.7.0`.
    let v = if v.split('.').count() == 2 && !v.contains('-') {
        format!("{v}.0")
    } else {
        v.to_string()
    };
    let v = semver::Version::parse(&v)
        .map_err(|e| format!("semver_matches(): `{version}` is not a version: {e}"))?;
    let r = semver::VersionReq::parse(req)
        .map_err(|e| format!("semver_matches(): `{req}` is not a requirement: {e}"))?;
    Ok(r.matches(&v))
}

fn cidr_contains(cidr: &str, ip: &str) -> R<bool> {
    let net: ipnet::IpNet = cidr
        .trim()
        .parse()
        .map_err(|_| format!("cidr_contains(): `{cidr}` is not a CIDR block"))?;
    if let Ok(addr) = ip.trim().parse::<std::net::IpAddr>() {
        return Ok(net.contains(&addr));
    }
    let inner: ipnet::IpNet = ip
        .trim()
        .parse()
        .map_err(|_| format!("cidr_contains(): `{ip}` is not an address or CIDR block"))?;
    Ok(net.contains(&inner))
}

fn cidr_overlaps(a: &str, b: &str) -> R<bool> {
    let parse = |s: &str| -> R<ipnet::IpNet> {
        Ok(s.trim()
            .parse()
            .map_err(|_| format!("cidr_overlaps(): `{s}` is not a CIDR block"))?)
    };
    let (a, b) = (parse(a)?, parse(b)?);
    Ok(a.contains(&b.network()) || b.contains(&a.network()))
}

/// A DNS-1123 label: lower case, `a-z0-9-`, at most 63 characters, no leading or trailing `-`.
pub fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    // `out` is ASCII, so every byte is a character.
    let t: String = out.trim_matches('-').chars().take(63).collect();
    t.trim_end_matches('-').to_string()
}

thread_local! {
    static REGEXES: RefCell<HashMap<String, regex::Regex>> = RefCell::new(HashMap::new());
}

/// Regex match with a per-thread cache: scripts call it with a handful of literal patterns.
fn matches(s: &str, pattern: ImmutableString) -> R<bool> {
    charge(s.len() + pattern.len());
    REGEXES.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(re) = cache.get(pattern.as_str()) {
            return Ok(re.is_match(s));
        }
        let re = regex::Regex::new(&pattern)
            .map_err(|e| format!("matches(): `{pattern}` is not a regular expression: {e}"))?;
        let m = re.is_match(s);
        if cache.len() < 256 {
            cache.insert(pattern.to_string(), re);
        }
        Ok(m)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_semver_or_dotted() {
        assert_eq!(version_cmp("v1.4.0", "1.10.0"), Ordering::Less);
        assert_eq!(version_cmp("15.7", "15.10"), Ordering::Less);
        assert_eq!(version_cmp("16", "16.0"), Ordering::Equal);
        assert_eq!(version_cmp("1.0.0-rc.1", "1.0.0"), Ordering::Less);
        assert!(semver_matches("15.7", ">=15.0, <15.8").unwrap());
        assert!(!semver_matches("15.8", ">=15.0, <15.8").unwrap());
        assert!(semver_matches("x", "1").is_err());
    }

    #[test]
    fn cidrs() {
        assert!(cidr_contains("10.0.0.0/8", "10.1.2.3").unwrap());
        assert!(!cidr_contains("10.0.0.0/8", "11.0.0.1").unwrap());
        assert!(cidr_contains("10.0.0.0/8", "10.4.0.0/16").unwrap());
        assert!(cidr_overlaps("10.0.0.0/8", "10.4.0.0/16").unwrap());
        assert!(!cidr_overlaps("10.0.0.0/16", "10.1.0.0/16").unwrap());
        assert!(cidr_contains("nope", "10.0.0.1").is_err());
    }

    #[test]
    fn slugs_are_dns_labels() {
        assert_eq!(slug("Orders DB__Prod!"), "orders-db-prod");
        assert_eq!(slug(&"a".repeat(80)).len(), 63);
    }
}
