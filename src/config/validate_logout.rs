//! Validation of the dashboard's sign-out: its route, the CSRF token it wants and what a
//! successful answer looks like.

use super::file::{FileLoginRoute, FileLogout};
use super::model::{CsrfSend, CsrfSource, Logout, LogoutCsrf, LogoutExpect};
use super::validate::Errors;
use super::validate_auth::route;

pub(super) fn logout(errs: &mut Errors, key: &str, l: &FileLogout, cs: bool) -> Option<Logout> {
    let before = errs.0.len();
    let shape = FileLoginRoute {
        method: l.method.clone(),
        path: l.path.clone(),
        format: "form".into(),
    };
    let route = route(errs, key, &shape, cs);
    let csrf = l.csrf.as_ref().and_then(|c| {
        let key = format!("{key}.csrf");
        let page = c.page.as_ref().and_then(|p| page(errs, &key, p));
        let from = source(errs, &key, &c.from);
        let send = send(errs, &key, &c.send);
        if matches!(from, Some(CsrfSource::Field(_) | CsrfSource::Meta(_))) && c.page.is_none() {
            errs.push(
                format!("{key}.page"),
                "a token in a form field or meta tag is read from a page: name it",
            );
        }
        Some(LogoutCsrf {
            page,
            from: from?,
            send: send?,
        })
    });
    if let Some(bad) = l.expect.status.iter().find(|s| !(100..600).contains(*s)) {
        errs.push(
            format!("{key}.expect.status"),
            format!("{bad} is not an HTTP status"),
        );
    }
    if errs.0.len() != before {
        return None;
    }
    Some(Logout {
        route: route?,
        csrf,
        expect: LogoutExpect {
            status: l.expect.status.clone(),
            clears_cookie: l.expect.clears_cookie.clone(),
        },
    })
}

/// `KIND:NAME`, split at the first `:`, with a non-empty name; the error shows `example`.
pub(super) fn kind_and_name<'a>(
    errs: &mut Errors,
    key: String,
    raw: &'a str,
    example: &str,
) -> Option<(&'a str, &'a str)> {
    match raw.split_once(':') {
        Some((kind, name)) if !name.trim().is_empty() => Some((kind, name.trim())),
        _ => {
            errs.push(key, format!("{raw:?} is not KIND:NAME (e.g. {example:?})"));
            None
        }
    }
}

fn source(errs: &mut Errors, key: &str, raw: &str) -> Option<CsrfSource> {
    let key = format!("{key}.from");
    let (kind, name) = kind_and_name(errs, key.clone(), raw, "cookie:csrftoken")?;
    match kind {
        "cookie" => Some(CsrfSource::Cookie(name.into())),
        "field" => Some(CsrfSource::Field(name.into())),
        "meta" => Some(CsrfSource::Meta(name.into())),
        other => {
            errs.push(
                key,
                format!("{other:?} is not \"cookie\", \"field\" or \"meta\""),
            );
            None
        }
    }
}

fn send(errs: &mut Errors, key: &str, raw: &str) -> Option<CsrfSend> {
    let key = format!("{key}.send");
    let (kind, name) = kind_and_name(errs, key.clone(), raw, "cookie:csrftoken")?;
    match kind {
        "field" => Some(CsrfSend::Field(name.into())),
        "header" => match http::HeaderName::from_bytes(name.as_bytes()) {
            Ok(h) => Some(CsrfSend::Header(h)),
            Err(_) => {
                errs.push(key, format!("{name:?} is not a header name"));
                None
            }
        },
        other => {
            errs.push(key, format!("{other:?} is not \"field\" or \"header\""));
            None
        }
    }
}

fn page(errs: &mut Errors, key: &str, raw: &str) -> Option<http::uri::PathAndQuery> {
    match raw.parse::<http::uri::PathAndQuery>() {
        Ok(p) if raw.starts_with('/') && !raw.starts_with("//") => Some(p),
        _ => {
            errs.push(
                format!("{key}.page"),
                format!("{raw:?} is not a path on the dashboard like \"/accounts/login/\""),
            );
            None
        }
    }
}
