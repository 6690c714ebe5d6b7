//! Property tests of the reading rule: for random paths and cookie headers, the gateway's
//! decision is the one it takes on the canonical form, and no spelling carries a credential
//! past the cookie rewrite.

use crate::support::lenient::{fold, Lenient};
use mfagate::canon::cookie::{is_gateway_name, name_is, rewrite};
use mfagate::canon::normalize::normalize_path;
use mfagate::canon::{canonical, Pattern};
use proptest::prelude::*;

/// The gateway's reading: normalized, then canonical (`None` = refused with 400).
fn gateway_reads(raw: &str) -> Option<String> {
    let normal = normalize_path(raw).ok()?;
    canonical(&normal, false).ok().map(|c| c.into_owned())
}

/// A spelling of `/settings/billing` that some framework routes to it.
fn protected_spelling() -> impl Strategy<Value = String> {
    let segment = |word: &'static str| {
        (
            proptest::collection::vec(any::<(bool, bool)>(), word.len()),
            prop_oneof![Just(""), Just(";x"), Just(";jsessionid=1")],
        )
            .prop_map(move |(flags, params)| {
                let mut out = String::new();
                for (c, (upper, encode)) in word.chars().zip(flags) {
                    let c = if upper { c.to_ascii_uppercase() } else { c };
                    if encode {
                        out.push_str(&format!("%{:02X}", c as u8));
                    } else {
                        out.push(c);
                    }
                }
                out + params
            })
    };
    (
        segment("settings"),
        segment("billing"),
        prop_oneof![Just(""), Just("/"), Just("//"), Just("/."), Just(".json")],
        prop_oneof![Just("/"), Just("//"), Just("/./")],
    )
        .prop_map(|(a, b, tail, sep)| format!("/{a}{sep}{b}{tail}"))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 10000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_spelling_of_a_protected_path_is_protected_or_refused(raw in protected_spelling()) {
        // The lenient dashboard routes it to the protected page...
        prop_assert_eq!(fold(&raw), "/settings/billing");
        // ...so the gateway either matches the rule or refuses the request.
        let rule = Pattern::new("/settings/billing", false).unwrap();
        if let Some(c) = gateway_reads(&raw) {
            prop_assert!(rule.matches_with_format(&c), "{} read as {}", raw, c);
        }
    }

    #[test]
    fn canonical_form_is_a_fixed_point(raw in "/[a-zA-Z0-9;._~%/-]{0,40}") {
        if let Some(c) = gateway_reads(&raw) {
            prop_assert_eq!(gateway_reads(&c), Some(c.clone()));
            // Deciding on the canonical form or on the request is the same decision.
            for p in ["/settings/billing", "/settings/*", "/api*", "/login"] {
                let pattern = Pattern::new(p, false).unwrap();
                let on_canon = canonical(&c, false).map(|x| pattern.matches(&x)).unwrap();
                prop_assert_eq!(on_canon, pattern.matches(&c));
            }
        }
    }

    #[test]
    fn a_look_alike_of_a_protected_path_is_refused(
        c in prop_oneof![
            proptest::sample::select(vec!['ſ', 'ｓ', 'Ｓ', 'ｅ', 'Ｔ', 'ｉ', 'ı', 'İ', 'ﬆ', '\u{212A}', 'ǅ', 'ｇ']),
            proptest::char::range('\u{80}', '\u{2FFFF}'),
        ],
        at in 0usize..8,
    ) {
        let word: String = "settings"
            .char_indices()
            .map(|(i, ch)| if i == at { c } else { ch })
            .collect();
        let raw = format!("/{word}/billing");
        // Only characters that a lenient dashboard folds onto the protected page matter.
        if fold(&raw) != "/settings/billing" {
            return Ok(());
        }
        let encoded: String = raw
            .chars()
            .map(|ch| match ch.is_ascii() {
                true => ch.to_string(),
                false => ch.to_string().bytes().map(|b| format!("%{b:02X}")).collect(),
            })
            .collect();
        let rule = Pattern::new("/settings/billing", false).unwrap();
        for spelling in [raw.as_str(), encoded.as_str()] {
            let read = gateway_reads(spelling);
            prop_assert!(read.as_deref().is_none_or(|r| rule.matches(r)), "{} read as {:?}", spelling, read);
        }
    }

    #[test]
    fn no_cookie_spelling_carries_a_credential_past_the_rewrite(
        pieces in proptest::collection::vec(cookie_piece(), 0..8),
        seps in proptest::collection::vec(prop_oneof![Just("; "), Just(";"), Just(", "), Just(",")], 8),
    ) {
        let mut line = String::new();
        for (i, p) in pieces.iter().enumerate() {
            if i > 0 { line.push_str(seps[i]); }
            line.push_str(p);
        }
        let mut headers = http::HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_str(&line) {
            headers.insert(http::header::COOKIE, v);
        }
        let remove = |n: &[u8]| is_gateway_name(n) || name_is(n, crate::support::lenient::COOKIE);
        rewrite(&mut headers, &remove, &[(crate::support::lenient::COOKIE.into(), "BOUND".into())]);
        let read = Lenient::cookie_values(&headers);
        prop_assert!(read.iter().all(|v| v == "BOUND"), "{:?} -> {:?}", line, read);
        let out = headers.get(http::header::COOKIE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).unwrap_or_default();
        prop_assert!(!out.contains("STOLEN"), "{:?} -> {:?}", line, out);
        prop_assert!(!out.to_ascii_lowercase().contains("mfagate"), "{:?} -> {:?}", line, out);
    }
}

/// A cookie piece: an unrelated cookie, or the credential (or a gateway cookie) under a
/// random spelling.
fn cookie_piece() -> impl Strategy<Value = String> {
    let spelled = (
        prop_oneof![
            Just("app_session"),
            Just("APP_SESSION"),
            Just("app.session"),
            Just("app session"),
            Just("app%5Fsession"),
            Just("app_session[x]"),
            Just("__Host-mfagate"),
            Just("__host-MFAGATE-jar0")
        ],
        prop_oneof![Just(""), Just(" "), Just("\t")],
        prop_oneof![Just(""), Just(" "), Just("\t")],
        prop_oneof![Just("STOLEN"), Just("\"STOLEN\""), Just("")],
    )
        .prop_map(|(n, pre, post, v)| format!("{pre}{n}{post}={v}"));
    prop_oneof![
        "[a-z]{1,6}=[a-zA-Z0-9]{0,6}".prop_map(|s| s),
        spelled,
        Just("=app_session=STOLEN".to_string()),
    ]
}
