//! The proxy's side of the core's dashboard-logout port: the dashboard's sign-out performed
//! the way a browser performs it, so frameworks that guard it accept it. With a CSRF token
//! configured, a page is fetched first with the withheld credential; its cookies join the
//! jar (Django sets `csrftoken`, Rails rotates its session) and the token is read from a
//! cookie, a hidden form field or a meta tag. The logout then carries the token as a field or
//! a header, the jar, `Origin`/`Referer` of the public origin and the forwarding headers of
//! any proxied request (`X-Forwarded-Proto: https` keeps `force_ssl` from redirecting). Its
//! answer is judged against the configured expectation, never taken as success by default.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http::uri::PathAndQuery;
use http::{header, HeaderMap, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Limited};
use rustls::RootCertStore;

use super::metrics::Metrics;
use super::upstream::{client, credentialed, send, UpstreamClient};
use crate::config::{Config, CsrfSend, CsrfSource, Logout, LogoutCsrf};
use crate::gate::lifecycle::{DashboardLogout, LogoutCall, LogoutOutcome};
use crate::session::jar::Jar;

/// Largest CSRF page read.
const MAX_PAGE_BYTES: usize = 512 * 1024;
const TIMEOUT: Duration = Duration::from_secs(5);

/// One pooled client per environment, used off the request path (logouts, the grace timer),
/// so no worker's pool is borrowed.
pub struct DashboardLogouts {
    config: Arc<Config>,
    clients: Vec<UpstreamClient>,
    metrics: Arc<Metrics>,
}

impl DashboardLogouts {
    pub fn new(
        config: Arc<Config>,
        roots: &Arc<RootCertStore>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, rustls::Error> {
        let clients = config
            .environments
            .iter()
            .map(|env| client(env, &config.timeouts, roots))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            config,
            clients,
            metrics,
        })
    }

    async fn call(&self, call: LogoutCall<'_>) -> LogoutOutcome {
        let env = &self.config.environments[call.env];
        let Some(logout) = env.login.as_ref().and_then(|l| l.logout.as_ref()) else {
            return LogoutOutcome::Unreachable("no logout route".into());
        };
        let outcome = match self.sign_out(&call, logout).await {
            Ok(outcome) | Err(outcome) => outcome,
        };
        self.metrics.dashboard_logout(&outcome);
        outcome
    }

    async fn sign_out(
        &self,
        call: &LogoutCall<'_>,
        logout: &Logout,
    ) -> Result<LogoutOutcome, LogoutOutcome> {
        let mut jar = Jar::from_lines(&call.credential.set_cookies, call.now);
        let token = match &logout.csrf {
            Some(csrf) => Some((csrf, self.csrf_token(call, csrf, &mut jar).await?)),
            None => None,
        };
        let path = logout
            .route
            .path
            .parse::<PathAndQuery>()
            .map_err(|_| unreachable("logout path is not a valid URI"))?;
        let mut parts = self.head(call, logout.route.method.clone(), path.clone(), &jar);
        let referer = path.as_str();
        browser_origin(&mut parts.headers, call.authority, referer);
        let mut body = Body::empty();
        if let Some((csrf, token)) = token {
            match &csrf.send {
                CsrfSend::Header(name) => insert(&mut parts.headers, name.clone(), &token),
                CsrfSend::Field(name) => {
                    let form = form_urlencoded::Serializer::new(String::new())
                        .append_pair(name, &token)
                        .finish();
                    parts.headers.insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/x-www-form-urlencoded"),
                    );
                    body = Body::from(form);
                }
            }
        }
        let resp = send(
            &self.clients[call.env],
            Request::from_parts(parts, body),
            TIMEOUT,
        )
        .await
        .map_err(|e| LogoutOutcome::Unreachable(e.to_string()))?;
        let status = resp.status().as_u16();
        let lines = set_cookie_lines(resp.headers());
        let cleared = |name: &str| clears(&lines, name, call.now);
        Ok(match logout.expect.met_by(status, &cleared) {
            true => LogoutOutcome::SignedOut(status),
            false => LogoutOutcome::Refused {
                status,
                reason: "the answer is not the configured sign-out",
            },
        })
    }

    /// The token the logout needs, after the page (when configured) has been fetched and its
    /// cookies applied to `jar`.
    async fn csrf_token(
        &self,
        call: &LogoutCall<'_>,
        csrf: &LogoutCsrf,
        jar: &mut Jar,
    ) -> Result<String, LogoutOutcome> {
        let mut page = None;
        if let Some(path) = &csrf.page {
            let mut parts = self.head(call, Method::GET, path.clone(), jar);
            insert(&mut parts.headers, header::ACCEPT, "text/html");
            let req = Request::from_parts(parts, Body::empty());
            let resp = send(&self.clients[call.env], req, TIMEOUT)
                .await
                .map_err(|e| LogoutOutcome::Unreachable(e.to_string()))?;
            let status = resp.status().as_u16();
            for line in set_cookie_lines(resp.headers()) {
                jar.apply(&line, call.now);
            }
            if !resp.status().is_success() {
                return Err(refused(status, "the CSRF page did not answer 2xx"));
            }
            let body = Limited::new(resp.into_body(), MAX_PAGE_BYTES)
                .collect()
                .await;
            let body = body.map_err(|e| LogoutOutcome::Unreachable(format!("CSRF page: {e}")))?;
            page = Some((status, body.to_bytes()));
        }
        let status = page.as_ref().map_or(0, |(s, _)| *s);
        let html = page.as_ref().map_or(&[][..], |(_, b)| b.as_ref());
        let token = match &csrf.from {
            CsrfSource::Cookie(name) => jar
                .cookies
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone()),
            CsrfSource::Field(name) => attribute_of(html, "input", name, "value"),
            CsrfSource::Meta(name) => attribute_of(html, "meta", name, "content"),
        };
        token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| refused(status, "no CSRF token where configured"))
    }

    fn head(
        &self,
        call: &LogoutCall<'_>,
        method: Method,
        path: PathAndQuery,
        jar: &Jar,
    ) -> http::request::Parts {
        let env = &self.config.environments[call.env];
        let token = call.credential.token.as_deref();
        credentialed(
            env,
            (call.authority, call.client),
            method,
            path,
            (jar, token),
        )
    }
}

impl DashboardLogout for DashboardLogouts {
    fn logout<'a>(
        &'a self,
        call: LogoutCall<'a>,
    ) -> Pin<Box<dyn Future<Output = LogoutOutcome> + Send + 'a>> {
        Box::pin(self.call(call))
    }
}

fn refused(status: u16, reason: &'static str) -> LogoutOutcome {
    LogoutOutcome::Refused { status, reason }
}

fn unreachable(reason: &str) -> LogoutOutcome {
    LogoutOutcome::Unreachable(reason.into())
}

fn insert(headers: &mut HeaderMap, name: http::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

/// `Origin` and `Referer` as the browser on the gateway's public origin would send them:
/// Django and Rails compare them with the origin they think they serve.
fn browser_origin(headers: &mut HeaderMap, authority: &str, path: &str) {
    insert(headers, header::ORIGIN, &format!("https://{authority}"));
    insert(
        headers,
        header::REFERER,
        &format!("https://{authority}{path}"),
    );
}

fn set_cookie_lines(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect()
}

/// Whether the `Set-Cookie` lines delete cookie `name` (a new value is no deletion).
fn clears(lines: &[String], name: &str, now: u64) -> bool {
    let jar = Jar {
        cookies: vec![(name.to_string(), "held".into())],
        ..Jar::default()
    };
    !jar.with(lines, now).cookies.iter().any(|(n, _)| n == name)
        && lines.iter().any(|l| cookie_name(l) == name)
}

fn cookie_name(line: &str) -> &str {
    line.split(['=', ';']).next().unwrap_or("").trim()
}

/// Attribute `wanted` of the first `<tag name=NAME>` in `html`, read by an HTML tokenizer
/// (attribute order, quoting and entities as browsers read them).
fn attribute_of(html: &[u8], tag: &str, name: &str, wanted: &str) -> Option<String> {
    use html5gum::{Token, Tokenizer};
    let text = String::from_utf8_lossy(html);
    Tokenizer::new(text.as_ref())
        .flatten()
        .find_map(|token| match token {
            Token::StartTag(t) if t.name.as_slice() == tag.as_bytes() => {
                let attr = |a: &str| t.attributes.get(a.as_bytes()).map(|v| v.to_vec());
                (attr("name")? == name.as_bytes())
                    .then(|| attr(wanted))
                    .flatten()
                    .map(|v| String::from_utf8_lossy(&v).into_owned())
            }
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_read_from_fields_and_meta_tags_as_browsers_read_them() {
        let html = br#"<html><head><META content='m&amp;1' name="csrf-token"></head>
            <form><input type=hidden value="f1" name=csrfmiddlewaretoken>
            <input name="other" value="x"></form>"#;
        assert_eq!(
            attribute_of(html, "input", "csrfmiddlewaretoken", "value").as_deref(),
            Some("f1")
        );
        assert_eq!(
            attribute_of(html, "meta", "csrf-token", "content").as_deref(),
            Some("m&1")
        );
        assert_eq!(attribute_of(html, "meta", "other", "content"), None);
        assert_eq!(attribute_of(b"not html <", "input", "x", "value"), None);
    }

    #[test]
    fn only_a_deletion_clears_a_cookie() {
        let now = 1_700_000_000;
        let gone = ["sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"];
        let gone: Vec<String> = gone.iter().map(|s| s.to_string()).collect();
        assert!(clears(&gone, "sessionid", now));
        assert!(!clears(&gone, "csrftoken", now));
        assert!(!clears(&["sessionid=new; Path=/".into()], "sessionid", now));
        assert!(!clears(&[], "sessionid", now));
        assert!(clears(&["sessionid=; Path=/".into()], "sessionid", now));
    }
}
