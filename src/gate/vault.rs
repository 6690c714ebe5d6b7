//! The credential vault's operations on the authentication state (DESIGN.md "Credential
//! vault"): opening the jar bound to a session or to a pre-login id, and the cookies that
//! store a changed jar. The jar format itself is `session::jar`.

use http::HeaderMap;

use super::auth::Auth;
use crate::config::Environment;
use crate::session::jar::{
    clear_chunks, read_chunks, session_context, write_chunks, Jar, PRE_LOGIN_CONTEXT,
    PRE_LOGIN_JAR, SESSION_JAR,
};
use crate::session::token::{new_id, SessionClaims};

/// A jar as read from the request, with how many cookie chunks carried it.
#[derive(Debug, Clone, Default)]
pub struct Held {
    pub jar: Jar,
    pub chunks: usize,
}

/// Sealing context of the jar of a user identified by a trusted SSO (no gateway session):
/// it opens only for requests the SSO vouches for as that user, in that environment.
pub fn sso_context(env: &str, user: &str) -> Vec<u8> {
    format!("sso:{env}:{user}").into_bytes()
}

impl Auth {
    /// The jar of signed-in session `claims` (empty when the browser holds none).
    pub fn session_jar(&self, claims: &SessionClaims, headers: &HeaderMap) -> Held {
        self.held_jar(&session_context(&claims.sid), headers)
    }

    /// The jar sealed under `context` (a session's or an SSO identity's).
    pub fn held_jar(&self, context: &[u8], headers: &HeaderMap) -> Held {
        let (sealed, chunks) = read_chunks(headers, SESSION_JAR);
        let jar = Jar::open(&self.keys, &sealed, context).unwrap_or_default();
        Held { jar, chunks }
    }

    /// `Set-Cookie` lines storing `jar` for session `sid`, replacing `previous` chunks.
    pub fn session_jar_cookies(&self, sid: &str, jar: &Jar, previous: usize) -> Vec<String> {
        self.jar_cookies(&session_context(sid), jar, previous)
    }

    /// `Set-Cookie` lines storing `jar` sealed under `context`, replacing `previous` chunks.
    pub fn jar_cookies(&self, context: &[u8], jar: &Jar, previous: usize) -> Vec<String> {
        self.store_jar(SESSION_JAR, context, jar, previous)
    }

    /// `Set-Cookie` lines storing `jar` sealed under `context` in cookie `base` (deleting it
    /// when the jar is empty), replacing the `previous` chunks the browser held.
    fn store_jar(&self, base: &str, context: &[u8], jar: &Jar, previous: usize) -> Vec<String> {
        if jar.is_empty() {
            return clear_chunks(base, 0, previous);
        }
        write_chunks(base, &jar.seal(&self.keys, context), previous)
    }

    /// The pre-login jar of an anonymous browser: valid while younger than the environment's
    /// absolute session limit and not ended by a login (revocation view, no store access).
    /// `chunks` counts what the browser sent even when the jar is no longer valid.
    pub fn pre_login_jar(&self, env: &Environment, headers: &HeaderMap, now: u64) -> Held {
        let (sealed, chunks) = read_chunks(headers, PRE_LOGIN_JAR);
        let jar = Jar::open(&self.keys, &sealed, PRE_LOGIN_CONTEXT)
            .filter(|j| {
                j.created_at + env.sessions.absolute.as_secs() > now
                    && !self.revocation.is_revoked(&j.id, "", j.created_at * 1000)
            })
            .unwrap_or_default();
        Held { jar, chunks }
    }

    /// `Set-Cookie` lines binding `jar` (the dashboard's anonymous session) to this browser
    /// as its pre-login jar, giving it an id when it has none.
    pub fn pre_login_cookies(&self, mut jar: Jar, previous: usize, now: u64) -> Vec<String> {
        if jar.id.is_empty() {
            jar.id = new_id(&self.keys);
            jar.created_at = now;
        }
        self.store_jar(PRE_LOGIN_JAR, PRE_LOGIN_CONTEXT, &jar, previous)
    }

    /// Ends a pre-login binding at a successful login: its values may now be authenticated
    /// (a dashboard that does not rotate its session id), so no copy of the pre-login cookie
    /// may bring them back. Returns the lines deleting it from this browser.
    pub async fn end_pre_login(&self, pre: &Held) -> Result<Vec<String>, crate::store::StoreError> {
        if !pre.jar.id.is_empty() {
            self.revoke("", &pre.jar.id, None).await?;
        }
        Ok(clear_chunks(PRE_LOGIN_JAR, 0, pre.chunks))
    }
}
