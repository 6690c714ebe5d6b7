//! Cookie names under the loosest reading any framework uses, on bytes.
//!
//! Servers disagree on how to split and name cookies: some accept `,` as well as `;`, trim
//! spaces and tabs around names, decode percent-escapes in names, compare names without
//! regard to case (ASP.NET), or, like PHP, turn `.`, space and `[` into `_`. A credential
//! decision must find every pair that any of them would read as the credential, so the
//! gateway removes every such pair and adds back only the values it decided on.

use http::header::{HeaderMap, HeaderValue, COOKIE};

/// One `name=value` piece of a Cookie header, as raw bytes (a nameless piece has an empty
/// name; servers differ on whether its text is a name or a value, so both are checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
    pub raw: &'a [u8],
}

/// Splits a Cookie header line on `;` and `,`, trimming spaces and tabs.
pub fn pieces(line: &[u8]) -> impl Iterator<Item = Piece<'_>> {
    line.split(|b| *b == b';' || *b == b',')
        .map(trim)
        .filter(|p| !p.is_empty())
        .map(|raw| match raw.iter().position(|b| *b == b'=') {
            Some(i) => Piece {
                name: trim(&raw[..i]),
                value: unquote(trim(&raw[i + 1..])),
                raw,
            },
            None => Piece {
                name: b"",
                value: raw,
                raw,
            },
        })
}

fn trim(b: &[u8]) -> &[u8] {
    let is_space = |c: &u8| matches!(c, b' ' | b'\t');
    let start = b.iter().position(|c| !is_space(c)).unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !is_space(c))
        .map_or(start, |e| e + 1);
    &b[start..end.max(start)]
}

fn unquote(v: &[u8]) -> &[u8] {
    match v {
        [b'"', inner @ .., b'"'] => inner,
        _ => v,
    }
}

/// A cookie name as the most lenient server reads it: trimmed, percent-decoded, ASCII
/// lower-cased, with PHP's rewriting of `.`, space and `[` to `_`.
pub fn lenient_name(raw: &[u8]) -> Vec<u8> {
    let decoded: Vec<u8> = percent_encoding::percent_decode(trim(raw)).collect();
    trim(&decoded)
        .iter()
        .map(|b| match b.to_ascii_lowercase() {
            b'.' | b' ' | b'[' => b'_',
            c => c,
        })
        .collect()
}

/// Whether a cookie name (raw bytes) could be read as `configured` by some dashboard. PHP
/// also reads `name[key]` as an array under `name`, so the part before `[` counts too.
pub fn name_is(raw: &[u8], configured: &str) -> bool {
    let want = lenient_name(configured.as_bytes());
    let got = lenient_name(raw);
    if got == want {
        return true;
    }
    let decoded: Vec<u8> = percent_encoding::percent_decode(trim(raw)).collect();
    decoded
        .iter()
        .position(|b| *b == b'[')
        .is_some_and(|i| lenient_name(&decoded[..i]) == want)
}

/// Whether a piece names a cookie for which `is` holds, reading a nameless piece's text
/// (up to a `=` it may contain) as a name too.
pub fn piece_is(piece: &Piece<'_>, is: &dyn Fn(&[u8]) -> bool) -> bool {
    if !piece.name.is_empty() || piece.raw.contains(&b'=') {
        return is(piece.name) || (piece.name.is_empty() && is(nameless_name(piece.raw)));
    }
    is(piece.raw)
}

/// The name a browser would send for a nameless cookie `=x=y` (it sends `x=y`).
fn nameless_name(raw: &[u8]) -> &[u8] {
    let rest = trim(raw.strip_prefix(b"=").unwrap_or(raw));
    rest.split(|b| *b == b'=').next().unwrap_or(rest)
}

/// Whether a name belongs to the gateway: `mfagate…` with or without a `__Host-`/`__Secure-`
/// prefix, in any letter case. The dashboard may never set, read or delete these.
pub fn is_gateway_name(raw: &[u8]) -> bool {
    let n = lenient_name(raw);
    let n = n
        .strip_prefix(b"__host-")
        .or_else(|| n.strip_prefix(b"__secure-"))
        .unwrap_or(&n);
    n.starts_with(b"mfagate")
}

/// Rewrites the request's `Cookie` headers into one canonical line: every piece for which
/// `remove` holds (under the lenient reading above) is dropped, the rest kept as sent, then
/// `add` appended. Returns how many pieces were removed. A piece that only a `,` split finds
/// is separated from its neighbours so the dashboard cannot read it back.
pub fn rewrite(
    headers: &mut HeaderMap,
    remove: &dyn Fn(&[u8]) -> bool,
    add: &[(String, String)],
) -> usize {
    if add.is_empty() && !headers.contains_key(COOKIE) {
        return 0;
    }
    let mut kept: Vec<&[u8]> = Vec::new();
    let mut removed = 0;
    let lines: Vec<HeaderValue> = headers.get_all(COOKIE).iter().cloned().collect();
    for line in &lines {
        for semi in line
            .as_bytes()
            .split(|b| *b == b';')
            .map(trim)
            .filter(|p| !p.is_empty())
        {
            let subs: Vec<Piece<'_>> = pieces(semi).collect();
            let dropped = subs.iter().filter(|p| piece_is(p, remove)).count();
            if dropped == 0 {
                kept.push(semi);
            } else {
                removed += dropped;
                kept.extend(subs.iter().filter(|p| !piece_is(p, remove)).map(|p| p.raw));
            }
        }
    }
    let mut out: Vec<u8> = Vec::new();
    let added = add.iter().map(|(n, v)| format!("{n}={v}"));
    for piece in kept
        .into_iter()
        .map(<[u8]>::to_vec)
        .chain(added.map(String::into_bytes))
    {
        if !out.is_empty() {
            out.extend_from_slice(b"; ");
        }
        out.extend_from_slice(&piece);
    }
    headers.remove(COOKIE);
    if let Ok(v) = HeaderValue::from_bytes(&out) {
        if !out.is_empty() {
            headers.insert(COOKIE, v);
        }
    }
    removed
}

/// Whether any piece of the request's Cookie headers satisfies `is`.
pub fn any_piece(headers: &HeaderMap, is: &dyn Fn(&[u8]) -> bool) -> bool {
    headers
        .get_all(COOKIE)
        .iter()
        .any(|line| pieces(line.as_bytes()).any(|p| piece_is(&p, is) && !p.value.is_empty()))
}

/// The name of a `Set-Cookie` line as a browser reads it (bytes before the first `=`,
/// trimmed; for a nameless `=x=y` line, `x`).
pub fn set_cookie_name(line: &[u8]) -> &[u8] {
    let pair = line.split(|b| *b == b';').next().unwrap_or(line);
    match pair.iter().position(|b| *b == b'=') {
        Some(0) => nameless_name(pair),
        Some(i) => trim(&pair[..i]),
        None => trim(pair),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(lines: &[&[u8]]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for l in lines {
            h.append(COOKIE, HeaderValue::from_bytes(l).unwrap());
        }
        h
    }

    fn cookie_line(h: &HeaderMap) -> Vec<u8> {
        h.get(COOKIE)
            .map(|v| v.as_bytes().to_vec())
            .unwrap_or_default()
    }

    #[test]
    fn names_read_leniently() {
        for raw in [
            &b"dash_session"[..],
            b"dash_session ",
            b" \tdash_session",
            b"DASH_SESSION",
            b"dash.session",
            b"dash session",
            b"dash[session",
            b"dash%5Fsession",
            b"dash_session[x]",
        ] {
            assert!(
                name_is(raw, "dash_session"),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
        assert!(name_is(b"dash_session", "dash.session"));
        assert!(!name_is(b"dash_sessionx", "dash_session"));
        for raw in [
            &b"__Host-mfagate"[..],
            b"__host-MFAGATE-device",
            b"mfagate",
            b"__Secure-mfagate",
        ] {
            assert!(is_gateway_name(raw));
        }
        assert!(!is_gateway_name(b"dash_session"));
    }

    #[test]
    fn every_spelling_is_removed_and_values_added_back() {
        let is = |n: &[u8]| name_is(n, "dash_session") || is_gateway_name(n);
        for line in [
            &b"dash_session =TOKEN"[..],
            b"dash_session=; dash_session=TOKEN",
            b"x=1, dash_session=TOKEN",
            b"lang=\xc3\xa9; dash_session=TOKEN",
            b"dash_session\t=TOKEN",
            b"dash.session=TOKEN",
            b"dash_session=\"TOKEN\"",
            b"__Host-mfagate=x; dash_session=TOKEN",
            b"=dash_session=TOKEN",
        ] {
            let mut h = header(&[line]);
            assert!(any_piece(&h, &is), "{:?}", String::from_utf8_lossy(line));
            rewrite(&mut h, &is, &[("dash_session".into(), "BOUND".into())]);
            let out = cookie_line(&h);
            assert!(
                !out.windows(5).any(|w| w == b"TOKEN"),
                "{:?}",
                String::from_utf8_lossy(&out)
            );
            assert!(out.ends_with(b"dash_session=BOUND"));
        }
        let mut h = header(&[b"a=1; b=2,3", b"c=4"]);
        assert_eq!(rewrite(&mut h, &is, &[]), 0);
        assert_eq!(cookie_line(&h), b"a=1; b=2,3; c=4");
        let mut h = header(&[b"dash_session=T"]);
        rewrite(&mut h, &is, &[]);
        assert!(h.get(COOKIE).is_none());
    }

    #[test]
    fn set_cookie_names() {
        assert_eq!(set_cookie_name(b"a=b; Path=/"), b"a");
        assert_eq!(set_cookie_name(b" a =b"), b"a");
        assert_eq!(
            set_cookie_name(b"=__Host-mfagate=x; Path=/"),
            b"__Host-mfagate"
        );
        assert_eq!(set_cookie_name(b"__Host-mfagate"), b"__Host-mfagate");
    }
}
