//! Parsing into a JSON value that refuses duplicate keys.
//!
//! `serde_json::Value`'s own deserializer keeps the last of two equal keys, silently, from YAML
//! and from JSON alike: `replicas: 2` then `replicas: 3` would plan 3 with no word. Kubernetes
//! refuses such documents, and so does vow: this visitor builds the same `Value` and stops at the
//! second key.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};
use std::fmt;

/// A `Value` read with duplicate keys refused.
pub struct Strict(pub Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML or JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // Like serde_json's own Value: a float JSON cannot hold (NaN, infinity) becomes null.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Strict::deserialize(d).map(|s| s.0)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            match out.entry(key) {
                Entry::Vacant(e) => {
                    e.insert(v);
                }
                Entry::Occupied(e) => {
                    return Err(de::Error::custom(format_args!(
                        "duplicate key `{}`: a key may appear once in a map (remove or rename \
                         one of them)",
                        e.key()
                    )))
                }
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_in_yaml_and_json() {
        let e = serde_yaml::from_str::<Strict>("a: 1\nb:\n  c: 1\n  c: 2\n")
            .err()
            .unwrap();
        assert!(e.to_string().contains("duplicate key `c`"), "{e}");
        // The location is the map holding the two keys.
        assert!((3..=4).contains(&e.location().unwrap().line()));
        let e = serde_json::from_str::<Strict>(r#"{"a": 1, "a": 2}"#)
            .err()
            .unwrap();
        assert!(e.to_string().contains("duplicate key `a`"), "{e}");
    }

    #[test]
    fn values_are_those_of_serde_json() {
        let text = "a: [1, -2, 2.5, true, null, x]\nb: {c: d}\nc: 18446744073709551615\n";
        let strict = serde_yaml::from_str::<Strict>(text).unwrap().0;
        let plain: Value = serde_yaml::from_str(text).unwrap();
        assert_eq!(strict, plain);
        for odd in [
            "big: 99999999999999999999999\n",
            "n: .nan\n",
            "i: -.inf\n",
            "? [a]\n: 1\n",
            "1: a\n",
        ] {
            let strict = serde_yaml::from_str::<Strict>(odd).map(|s| s.0).ok();
            let plain = serde_yaml::from_str::<Value>(odd).ok();
            assert_eq!(strict, plain, "{odd}");
        }
        let json = r#"{"f": 0.1, "big": 18446744073709551616, "e": 1e400}"#;
        let strict = serde_json::from_str::<Strict>(json).map(|s| s.0).ok();
        let plain = serde_json::from_str::<Value>(json).ok();
        assert_eq!(strict, plain);
    }
}
