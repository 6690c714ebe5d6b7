//! The verification probe (DESIGN.md "Login interception"): with a credential the dashboard
//! just set, ask its "who am I" endpoint whether it names a user. It is the positive signal
//! of a successful login, the source of the user's identity, and the test that a pre-login
//! jar is anonymous.

use std::time::Duration;

use axum::body::Body;
use http::{header, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Limited};

use super::error::ProxyError;
use super::pipeline::{ConnInfo, Worker};
use super::upstream;
use crate::config::Probe;
use crate::domain::normalize_user;
use crate::session::jar::Jar;

/// Largest probe answer read.
const MAX_PROBE_BYTES: usize = 64 * 1024;
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the dashboard says of a credential.
pub(super) struct Asked<'a> {
    pub worker: &'a Worker,
    pub index: usize,
    pub conn: &'a ConnInfo,
    pub authority: &'a str,
}

impl Asked<'_> {
    /// The user the dashboard's probe names for `jar` (and `token`), or `None` when it names
    /// nobody (any non-2xx answer, a body without the user). Unreachable → an error: the
    /// gateway then decides nothing.
    pub async fn probe(
        &self,
        probe: &Probe,
        jar: &Jar,
        token: Option<&str>,
    ) -> Result<Option<String>, ProxyError> {
        let env = &self.worker.state().config.environments[self.index];
        let mut parts = upstream::credentialed(
            env,
            (self.authority, self.conn.peer.ip()),
            Method::GET,
            probe.path.clone(),
            (jar, token),
        );
        parts
            .headers
            .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        let req = Request::from_parts(parts, Body::empty());
        let resp = upstream::send(self.worker.client(self.index), req, PROBE_TIMEOUT).await?;
        if !resp.status().is_success() {
            return Ok(None);
        }
        let json_answer = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .is_some_and(|ct| ct.contains("json"));
        let bytes = Limited::new(resp.into_body(), MAX_PROBE_BYTES)
            .collect()
            .await
            .map_err(|e| ProxyError::Upstream(format!("probe answer: {e}")))?
            .to_bytes();
        let json: Option<serde_json::Value> = json_answer
            .then(|| serde_json::from_slice(&bytes).ok())
            .flatten();
        Ok(json
            .as_ref()
            .and_then(|j| j.pointer(&probe.user_pointer))
            .and_then(|v| v.as_str())
            .map(normalize_user)
            .filter(|u| !u.is_empty()))
    }
}
