//! Query parameters under the loosest reading any framework uses.
//!
//! Frameworks disagree on the separators (`&`; `;` too for older Python, Java and Perl
//! ones), on `+` (a space in form decoding, a plus in plain percent-decoding) and on names:
//! percent-decoded, compared without regard to case, PHP's `.`/space/`[` → `_` and `name[]`
//! arrays. Names are read as leniently as cookie names (`cookie::name_is`, where PHP applies
//! the same rules). A decision about a parameter looks at every value any of them would read,
//! and a parameter is removed by dropping every piece any of them would read as it.

use std::borrow::Cow;

/// Every value a framework could read for parameter `name`, in every decoding: form decoding
/// (`+` is a space) and plain percent-decoding. `None` stands for a value whose bytes are not
/// UTF-8 once decoded (no text to decide on).
pub fn values(query: &str, name: &str) -> Vec<Option<String>> {
    let by_ampersand = query.split('&');
    let by_either = query.split(['&', ';']);
    let mut out = Vec::new();
    for piece in by_ampersand.chain(by_either) {
        let (raw_name, raw_value) = piece.split_once('=').unwrap_or((piece, ""));
        if name_is(raw_name, name) {
            out.push(decode(raw_value, true));
            out.push(decode(raw_value, false));
        }
    }
    out
}

/// `query` without every piece a framework could read as one of `names`, split on both
/// `&` and `;` so that neither reading finds one afterwards. The other pieces are kept as
/// sent, each after the separator it followed. `None` when no piece was removed.
pub fn without(query: &str, names: &[&str]) -> Option<String> {
    let mut out = String::with_capacity(query.len());
    let mut removed = false;
    let mut separator = None;
    let mut rest = query;
    loop {
        let end = rest.find(['&', ';']).unwrap_or(rest.len());
        let piece = &rest[..end];
        let raw_name = piece.split_once('=').map_or(piece, |(n, _)| n);
        if names.iter().any(|n| name_is(raw_name, n)) {
            removed = true;
        } else {
            if let Some(sep) = separator.filter(|_| !out.is_empty()) {
                out.push(sep);
            }
            out.push_str(piece);
        }
        let Some(sep) = rest[end..].chars().next() else {
            break;
        };
        separator = Some(sep);
        rest = &rest[end + 1..];
    }
    removed.then_some(out)
}

/// Whether a raw parameter name could be read as `name`, with `+` read as a space or not.
pub fn name_is(raw: &str, name: &str) -> bool {
    let is = |raw: &str| super::cookie::name_is(raw.as_bytes(), name);
    is(raw) || (raw.contains('+') && is(&raw.replace('+', " ")))
}

fn decode(raw: &str, plus_is_space: bool) -> Option<String> {
    let raw = match plus_is_space && raw.contains('+') {
        true => Cow::Owned(raw.replace('+', " ")),
        false => Cow::Borrowed(raw),
    };
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&raw).collect();
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(query: &str) -> Vec<String> {
        let mut v: Vec<String> = values(query, "memberId")
            .into_iter()
            .map(|v| v.unwrap_or_else(|| "<not utf-8>".into()))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    #[test]
    fn every_spelling_of_the_name_is_read() {
        for query in [
            "memberId=a",
            "memberid=a",
            "MEMBERID=a",
            "member%49d=a",
            "%6d%65%6d%62%65%72%49%64=a",
            "memberId[]=a",
            "memberId[0]=a",
            " memberId=a",
            "x=1;memberId=a",
            "x=1&memberId=a",
        ] {
            assert_eq!(read(query), ["a"], "{query}");
        }
        // PHP reads `member.id` and `member id` as `member_id`.
        let a = Some("a".to_string());
        assert_eq!(values("member.id=a", "member_id"), vec![a.clone(); 4]);
        assert_eq!(values("member+id=a", "member_id"), vec![a; 4]);
        assert!(values("memberIdx=a&xmemberId=b&member=c", "memberId").is_empty());
    }

    #[test]
    fn every_copy_and_every_decoding_counts() {
        assert_eq!(read("memberId=a&memberId=b"), ["a", "b"]);
        assert_eq!(read("memberId=a&MemberID=b"), ["a", "b"]);
        // `;` splits for some frameworks only: both readings.
        assert_eq!(read("memberId=a;b"), ["a", "a;b"]);
        assert_eq!(read("memberId=a;memberId=b"), ["a", "a;memberId=b", "b"]);
        // `+` is a space in form decoding only.
        assert_eq!(read("memberId=a+b"), ["a b", "a+b"]);
        assert_eq!(read("memberId=a%2Bb"), ["a+b"]);
        assert_eq!(read("memberId=a%40b.test"), ["a@b.test"]);
        assert_eq!(read("memberId=%FF"), ["<not utf-8>"]);
        // A name without a value reads as the empty value.
        assert_eq!(read("memberId"), [""]);
    }

    #[test]
    fn removal_leaves_no_reading_of_the_name() {
        let names = ["memberId", "memberHash"];
        let cases = [
            ("memberId=a", Some("")),
            ("x=1&memberId=a&y=2", Some("x=1&y=2")),
            ("memberId=a&x=1", Some("x=1")),
            ("x=1;member%49d=a;y=2", Some("x=1;y=2")),
            ("memberId=a;b&x=1", Some("b&x=1")),
            ("MEMBERHASH=h&memberId[]=a&keep=1", Some("keep=1")),
            ("x=1&y=2", None),
            ("", None),
        ];
        for (query, want) in cases {
            let got = without(query, &names);
            assert_eq!(got.as_deref(), want, "{query}");
            let left = got.unwrap_or_else(|| query.to_string());
            for name in names {
                assert!(values(&left, name).is_empty(), "{query} → {left}");
            }
        }
    }
}
