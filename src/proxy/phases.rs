//! The typed phases of a request after sanitizing (DESIGN.md "Request pipeline"): what a
//! sanitized request carries (`Routed`), the decision gate for requests that are not logins
//! (`Gate`), and where an allowed request goes (`Forwarding`).

use axum::body::Body;
use http::uri::PathAndQuery;
use http::{header, Request, Response};

use super::drain::Drained;
use super::error::ProxyError;
use super::pipeline::{ConnInfo, Worker};
use super::probe::Asked;
use super::{decision, login, sso_step};
use crate::audit::EventKind;
use crate::config::{Environment, LoginConfig};
use crate::gate::auth::Auth;
use crate::policy;
use crate::session::token::{bearer_matches, SessionClaims};

/// A sanitized request's facts that every later step needs.
pub(super) struct Routed<'a> {
    pub(super) index: usize,
    pub(super) conn: &'a ConnInfo,
    /// Canonical path, for decisions only.
    pub(super) canon: String,
    /// Normalized path and query, for the upstream.
    pub(super) path_and_query: PathAndQuery,
    pub(super) authority: String,
}

impl<'a> Routed<'a> {
    pub(super) fn forwarding<'b>(
        &'b self,
        asserted: Option<sso_step::Asserted>,
        session: Option<&'b SessionClaims>,
    ) -> Forwarding<'b> {
        Forwarding {
            index: self.index,
            conn: self.conn,
            path_and_query: self.path_and_query.clone(),
            authority: &self.authority,
            asserted,
            session,
        }
    }

    pub(super) fn asked<'b>(&'b self, worker: &'b Worker) -> Asked<'b> {
        Asked {
            worker,
            index: self.index,
            conn: self.conn,
            authority: &self.authority,
        }
    }
}

/// Pipeline step 6 for a request that is not a login: the policy's decision for a signed-in
/// session, bearer tokens bound to their session, and anonymous access.
pub(super) struct Gate<'a> {
    pub(super) auth: &'a Auth,
    pub(super) env: &'a Environment,
    pub(super) login: &'a LoginConfig,
    pub(super) routed: &'a Routed<'a>,
    pub(super) session: Option<&'a SessionClaims>,
    /// A trusted SSO vouched for the request.
    pub(super) sso: bool,
}

impl Gate<'_> {
    /// `Ok(grace end)` to go on, or the refusal to send.
    pub(super) async fn check(
        &self,
        req: &Request<Drained>,
        now: u64,
    ) -> Result<Option<u64>, Response<Body>> {
        let (auth, env, login, conn) = (self.auth, self.env, self.login, self.routed.conn);
        let mut grace = None;
        if let Some(claims) = self.session {
            let facts = policy::RequestFacts {
                env: self.routed.index,
                method: req.method(),
                path: &self.routed.canon,
            };
            match policy::decide(&auth.policies(), &facts, Some(&claims.subject()), now) {
                policy::Decision::Allow { grace_until } => grace = grace_until,
                refused => {
                    let refusal = decision::Refusal {
                        auth,
                        env,
                        login,
                        conn,
                        claims,
                    };
                    let pq = self.routed.path_and_query.as_str();
                    return Err(refusal.act(refused, req.headers(), pq).await);
                }
            }
        }
        if let (false, Some(authorization)) = (self.sso, req.headers().get(header::AUTHORIZATION)) {
            // A bearer token passes only with the session it was released to.
            let bound = self
                .session
                .is_some_and(|c| bearer_matches(&auth.keys, c, authorization.as_bytes()));
            if !bound {
                let kind = match self.session {
                    Some(_) => EventKind::TokenNotBound,
                    None => EventKind::CredentialWithoutSession,
                };
                let headers = req.headers();
                return Err(login::refuse_credential(auth, env, login, conn, headers, kind).await);
            }
        }
        if self.session.is_none() && !self.sso && !login.admits_anonymous(&self.routed.canon) {
            return Err(login::to_login(login, req.headers(), &[]));
        }
        Ok(grace)
    }
}

/// Where a request that passed the decisions goes, and as whom.
pub(super) struct Forwarding<'a> {
    pub(super) index: usize,
    pub(super) conn: &'a ConnInfo,
    pub(super) path_and_query: PathAndQuery,
    pub(super) authority: &'a str,
    pub(super) asserted: Option<sso_step::Asserted>,
    pub(super) session: Option<&'a SessionClaims>,
}

/// Requests a lenient dashboard could read differently from the gateway: a method not in
/// upper case (routers compare methods differently), and an upgrade with a body (the body is
/// not forwarded, so its length would make the dashboard read the next request as the body).
pub(super) fn refuse_ambiguous(req: &Request<Drained>) -> Result<(), ProxyError> {
    if req
        .method()
        .as_str()
        .bytes()
        .any(|b| b.is_ascii_lowercase())
    {
        return Err(ProxyError::Ambiguous("method not in upper case"));
    }
    let h = req.headers();
    let has_body = h.contains_key(header::TRANSFER_ENCODING)
        || h.get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    if h.contains_key(header::UPGRADE) && has_body {
        return Err(ProxyError::Ambiguous("upgrade request with a body"));
    }
    Ok(())
}
