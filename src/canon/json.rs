//! JSON request bodies under the loosest reading any framework uses.
//!
//! Parsers disagree on duplicate keys (serde_json and most keep the last, some the first,
//! some either) and some bind keys without regard to case (Jackson's and System.Text.Json's
//! case-insensitive options). A JSON pointer here therefore reaches every member whose key
//! matches its token in any ASCII case, under every duplicate, and removal drops all of them.
//! Subtrees the pointer does not reach are kept byte for byte.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

/// The tokens of a JSON pointer (`/a/b~1c` → `a`, `b/c`); `None` unless it starts with `/`.
pub fn pointer_tokens(pointer: &str) -> Option<Vec<String>> {
    let rest = pointer.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// Every value `pointer` reaches in `body` under the lenient reading, in document order.
/// An error for a body that is not one JSON document: it cannot be read as one either way.
pub fn values_at(body: &str, pointer: &[String]) -> Result<Vec<Value>, serde_json::Error> {
    let root: &RawValue = serde_json::from_str(body)?;
    let mut out = Vec::new();
    collect(root, pointer, &mut out)?;
    Ok(out)
}

/// `body` without every member any of `pointers` reaches (an array item a pointer ends on
/// becomes `null`, so the other items keep their indexes); `None` when none was there.
pub fn without(body: &str, pointers: &[Vec<String>]) -> Result<Option<String>, serde_json::Error> {
    let mut text = None::<String>;
    for pointer in pointers {
        let current = text.as_deref().unwrap_or(body);
        let root: &RawValue = serde_json::from_str(current)?;
        if let Some(changed) = remove(root, pointer)? {
            text = Some(changed);
        }
    }
    Ok(text)
}

fn collect(node: &RawValue, tokens: &[String], out: &mut Vec<Value>) -> serde_json::Result<()> {
    let Some((token, rest)) = tokens.split_first() else {
        out.push(serde_json::from_str(node.get())?);
        return Ok(());
    };
    match Node::of(node)? {
        Node::Object(members) => {
            for (_, child) in members
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(token))
            {
                collect(child, rest, out)?;
            }
        }
        Node::Array(items) => {
            if let Some(child) = index(token).and_then(|i| items.get(i)) {
                collect(child, rest, out)?;
            }
        }
        Node::Scalar => {}
    }
    Ok(())
}

/// `node` rewritten without what `tokens` reach, or `None` when they reach nothing.
fn remove(node: &RawValue, tokens: &[String]) -> serde_json::Result<Option<String>> {
    let Some((token, rest)) = tokens.split_first() else {
        return Ok(None);
    };
    match Node::of(node)? {
        Node::Object(members) => {
            let mut changed = false;
            let mut kept = Vec::with_capacity(members.len());
            for (key, child) in members {
                if !key.eq_ignore_ascii_case(token) {
                    kept.push((key, child.get().to_string()));
                } else if rest.is_empty() {
                    changed = true;
                } else {
                    let replaced = remove(child, rest)?;
                    changed |= replaced.is_some();
                    kept.push((key, replaced.unwrap_or_else(|| child.get().to_string())));
                }
            }
            Ok(changed.then(|| object(&kept)))
        }
        Node::Array(items) => {
            let Some(i) = index(token).filter(|i| *i < items.len()) else {
                return Ok(None);
            };
            let replaced = match rest.is_empty() {
                true => Some("null".to_string()),
                false => remove(items[i], rest)?,
            };
            Ok(replaced.map(|r| {
                let mut texts: Vec<&str> = items.iter().map(|v| v.get()).collect();
                texts[i] = &r;
                format!("[{}]", texts.join(","))
            }))
        }
        Node::Scalar => Ok(None),
    }
}

fn object(members: &[(String, String)]) -> String {
    let members: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{}:{v}", Value::from(k.as_str())))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// An array index token (`0`, `12`; not `-`, `+1` or `01`).
fn index(token: &str) -> Option<usize> {
    let digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    let canonical = token == "0" || !token.starts_with('0');
    (digits && canonical).then(|| token.parse().ok()).flatten()
}

/// A JSON value one level deep: an object's members (duplicates kept, in order), an array's
/// items, or anything else.
enum Node<'a> {
    Object(Vec<(String, &'a RawValue)>),
    Array(Vec<&'a RawValue>),
    Scalar,
}

impl<'a> Node<'a> {
    fn of(raw: &'a RawValue) -> serde_json::Result<Self> {
        let text = raw.get();
        match text.trim_start().as_bytes().first() {
            Some(b'{') => Ok(Self::Object(serde_json::from_str::<Members<'a>>(text)?.0)),
            Some(b'[') => Ok(Self::Array(serde_json::from_str(text)?)),
            _ => Ok(Self::Scalar),
        }
    }
}

/// An object's members with every duplicate key kept (a map type would keep one).
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    members.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(MembersVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(body: &str, pointer: &str) -> Vec<Value> {
        values_at(body, &pointer_tokens(pointer).unwrap()).unwrap()
    }

    #[test]
    fn pointers_unescape_their_tokens() {
        assert_eq!(pointer_tokens("/a/b~1c/d~0e").unwrap(), ["a", "b/c", "d~e"]);
        assert_eq!(pointer_tokens("/").unwrap(), [""]);
        assert_eq!(pointer_tokens("a"), None);
    }

    #[test]
    fn every_duplicate_and_every_case_is_reached() {
        let body =
            r#"{"memberId":"a","other":1,"memberId":"b","MEMBERID":"c","member\u0049d":"d"}"#;
        assert_eq!(at(body, "/memberId"), ["a", "b", "c", "d"]);
        let nested = r#"{"user":{"id":"a"},"User":{"id":"b","ID":"c"},"user":[1]}"#;
        assert_eq!(at(nested, "/user/id"), ["a", "b", "c"]);
        let list = r#"{"ids":["a","b"],"ids":{"0":"c"}}"#;
        assert_eq!(at(list, "/ids/0"), ["a", "c"]);
        assert_eq!(at(list, "/ids/01"), Vec::<Value>::new());
        assert_eq!(at(r#"{"memberId":7}"#, "/memberId"), [7]);
        assert_eq!(at(r#""memberId""#, "/memberId"), Vec::<Value>::new());
        assert_eq!(at(" {\"a\" : {\"b\" : null} } ", "/a/b"), [Value::Null]);
    }

    #[test]
    fn anything_but_one_json_document_is_an_error() {
        let bad = [
            "",
            "{",
            r#"{"a":1} {"a":2}"#,
            r#"{"a":1,}"#,
            "\u{feff}{}",
            "memberId=a",
        ];
        for body in bad {
            assert!(values_at(body, &["a".into()]).is_err(), "{body:?}");
            assert!(without(body, &[vec!["a".into()]]).is_err(), "{body:?}");
        }
    }

    #[test]
    fn removal_drops_every_reading_and_keeps_the_rest_as_sent() {
        let ptr = |p: &str| pointer_tokens(p).unwrap();
        let body = r#"{"memberId":"a", "keep":1.50, "MemberID":"b","memberHash":"h","n":{"memberId":"x"}}"#;
        let out = without(body, &[ptr("/memberId"), ptr("/memberHash")])
            .unwrap()
            .unwrap();
        assert_eq!(out, r#"{"keep":1.50,"n":{"memberId":"x"}}"#);
        assert!(at(&out, "/memberId").is_empty());
        let nested = r#"{"user":{"id":"a","name":"A"},"USER":{"id":"b"}}"#;
        let out = without(nested, &[ptr("/user/id")]).unwrap().unwrap();
        assert_eq!(out, r#"{"user":{"name":"A"},"USER":{}}"#);
        let list = r#"{"ids":["a","b"]}"#;
        let out = without(list, &[ptr("/ids/0")]).unwrap().unwrap();
        assert_eq!(out, r#"{"ids":[null,"b"]}"#);
        assert_eq!(
            without(r#"{"other":"a"}"#, &[ptr("/memberId")]).unwrap(),
            None
        );
        let escaped = r#"{"a\"b":1,"memberId":"x"}"#;
        let out = without(escaped, &[ptr("/memberId")]).unwrap().unwrap();
        assert_eq!(out, r#"{"a\"b":1}"#);
    }
}
