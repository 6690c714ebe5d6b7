//! Extractors for gateway pages, so every handler starts from a checked state: which browser
//! session it is (pending its second factor, or signed in), and for posts, a form whose CSRF
//! token and origin were verified for that session.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Redirect, Response};
use http::request::Parts;
use http::{HeaderMap, StatusCode};
use minijinja::{context, Value};
use serde::Serialize;

use super::error::PageError;
use super::{csrf, templates, RequestFacts};
use crate::gate::auth::Auth;
use crate::session::token::SessionClaims;
use crate::store::records::PendingLogin;

/// A page anyone may see (signed in or not): only the request's base.
pub struct AnyPage(pub PageBase);

impl FromRequestParts<Arc<Auth>> for AnyPage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, auth: &Arc<Auth>) -> Result<Self, Response> {
        let base = PageBase::from_parts(parts, auth);
        base.map(Self)
            .ok_or_else(|| http::StatusCode::NOT_FOUND.into_response())
    }
}

/// What every page handler has: the auth state, the request's facts and headers.
pub struct PageBase {
    pub auth: Arc<Auth>,
    pub facts: RequestFacts,
    pub headers: HeaderMap,
    /// A signed-in user's pages link each other (security, sessions, the console).
    pub account: Option<crate::domain::Role>,
}

impl PageBase {
    /// `None` outside the pipeline's gateway routes (no request facts).
    pub(super) fn from_parts(parts: &Parts, auth: &Arc<Auth>) -> Option<Self> {
        let facts = parts.extensions.get::<RequestFacts>().cloned()?;
        Some(Self {
            auth: auth.clone(),
            facts,
            headers: parts.headers.clone(),
            account: None,
        })
    }

    pub fn prefix(&self) -> &str {
        &self.auth.config.gateway_prefix
    }

    /// The words of this page's language: `base.w().get("key")`.
    pub fn w(&self) -> crate::i18n::Words {
        crate::i18n::Words(self.facts.lang)
    }

    /// The environment's time zone, for the times a page shows.
    pub fn zone(&self) -> &crate::clock::Zone {
        &self.auth.config.environments[self.facts.env_index].zone
    }

    /// Unix seconds as shown on this environment's pages ("2026-12-01 15:04 WIB").
    pub fn time(&self, unix: u64) -> String {
        self.zone().show(unix)
    }

    /// Redirect to a page under the gateway prefix.
    pub fn to(&self, page: &str) -> Response {
        Redirect::to(&format!("{}{page}", self.prefix())).into_response()
    }

    /// The dashboard's login page of this environment.
    pub fn login_page(&self) -> &str {
        self.auth.config.environments[self.facts.env_index]
            .login
            .as_ref()
            .map_or("/", |l| l.login_page.as_str())
    }

    pub fn audit(&self, user: &str) -> crate::audit::Context {
        self.facts.audit(&self.auth).by(user)
    }

    /// A short page: catalogue keys for the title, the sentence and the link's text.
    pub fn message(
        &self,
        status: StatusCode,
        title: &str,
        text: &str,
        link: Option<(&str, &str)>,
    ) -> Response {
        self.message_text(status, title, &self.w().get(text), link)
    }

    /// A short page whose sentence is already written out (it carries values).
    pub fn message_text(
        &self,
        status: StatusCode,
        title: &str,
        text: &str,
        link: Option<(&str, &str)>,
    ) -> Response {
        let (w, facts) = (self.w(), &self.facts);
        let ctx = context! {
            title => w.get(title),
            brand => facts.display_name,
            lang => facts.lang.tag(),
            branding => templates::branding(Some(&facts.branding)),
            prefix => self.prefix(),
            message => text,
            link => link.map(|l| l.0),
            link_text => link.map(|l| w.get(l.1)),
        };
        templates::page(status, "message.html", ctx)
    }

    /// Renders `template` with the context every page needs (the title, from its catalogue
    /// key; brand, language, prefix, CSRF token for `sid`) plus `extra`.
    pub fn render(
        &self,
        status: StatusCode,
        template: &str,
        title: &str,
        sid: &str,
        extra: impl Serialize,
    ) -> Response {
        self.render_titled(status, template, &self.w().get(title), sid, extra)
    }

    /// Like `render`, for a page titled by a name (a user's), not by a catalogue key.
    pub fn render_titled(
        &self,
        status: StatusCode,
        template: &str,
        title: &str,
        sid: &str,
        extra: impl Serialize,
    ) -> Response {
        let env = &self.auth.config.environments[self.facts.env_index];
        let account = self.account.map(|role| {
            context! {
                admin => crate::gate::admin::Admin::may_administer(role),
            }
        });
        let ctx = context! {
            title => title,
            brand => env.display_name,
            lang => self.facts.lang.tag(),
            branding => templates::branding(Some(&env.branding)),
            trust_ask => env.trust_browser == crate::config::model::TrustBrowser::Ask,
            // The console's tables get the room a desktop has.
            wide => template.starts_with("admin_"),
            trust_days => env.sessions.device_trust.as_secs().div_ceil(86_400),
            prefix => self.prefix(),
            account => account,
            csrf => csrf::token(&self.auth.keys, sid),
            ..Value::from_serialize(extra)
        };
        templates::page(status, template, ctx)
    }
}

/// A browser whose password the dashboard accepted and whose second factor is outstanding.
pub struct PendingPage {
    pub base: PageBase,
    pub claims: SessionClaims,
    pub login: PendingLogin,
    /// Where the user's email codes go (an admin's change, else the directory's); `None`
    /// without an address or when the user turned email codes off.
    pub email: Option<String>,
}

impl PendingPage {
    /// The factors this user's role may use in this environment.
    pub fn methods(&self) -> crate::config::Methods {
        self.base.auth.config.environments[self.base.facts.env_index]
            .methods_for(self.claims.who.role)
    }

    /// The page for a pending sign-in that no longer exists.
    pub fn expired(base: &PageBase) -> Response {
        base.message(
            StatusCode::UNAUTHORIZED,
            "expired-title",
            "expired-text",
            Some((base.login_page(), "Sign in")),
        )
    }
}

/// Why a request has no pending sign-in.
pub enum NotPending {
    /// Outside the pipeline's gateway routes.
    NoFacts,
    /// The browser is signed in already.
    SignedIn(PageBase),
    /// Expired, completed, or never there.
    Expired(PageBase),
    Store(crate::store::StoreError),
}

impl PendingPage {
    /// The pending sign-in the request's session cookie names, shared by the pages and the
    /// JSON API (which answer its absence each in their own way).
    pub async fn find(parts: &Parts, auth: &Arc<Auth>) -> Result<Self, NotPending> {
        let base = PageBase::from_parts(parts, auth).ok_or(NotPending::NoFacts)?;
        let env = &auth.config.environments[base.facts.env_index];
        let now = auth.clock.now();
        let Some(claims) = auth.pending_session(env, &base.headers, now) else {
            if auth.full_session(env, &base.headers, now).is_some() {
                return Err(NotPending::SignedIn(base));
            }
            return Err(NotPending::Expired(base));
        };
        let login = match auth.records.pending(&claims.sid).await {
            Ok(Some(login)) if login.user == claims.user => login,
            Ok(_) => return Err(NotPending::Expired(base)),
            Err(e) => return Err(NotPending::Store(e)),
        };
        let email = pending_email(auth, &login.user)
            .await
            .map_err(NotPending::Store)?;
        Ok(Self {
            base,
            claims,
            login,
            email,
        })
    }
}

impl FromRequestParts<Arc<Auth>> for PendingPage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, auth: &Arc<Auth>) -> Result<Self, Response> {
        Self::find(parts, auth)
            .await
            .map_err(|missing| match missing {
                NotPending::NoFacts => StatusCode::NOT_FOUND.into_response(),
                NotPending::SignedIn(_) => Redirect::to("/").into_response(),
                NotPending::Expired(base) => Self::expired(&base),
                NotPending::Store(e) => PageError::from(e).into_response(),
            })
    }
}

/// Where `user`'s email codes go while signing in: nowhere when they turned them off.
async fn pending_email(auth: &Auth, user: &str) -> crate::store::StoreResult<Option<String>> {
    match auth.records.email_codes_off(user).await? {
        true => Ok(None),
        false => auth.code_address(user).await,
    }
}

/// A fully signed-in browser.
pub struct SignedIn {
    pub base: PageBase,
    pub claims: SessionClaims,
}

impl FromRequestParts<Arc<Auth>> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, auth: &Arc<Auth>) -> Result<Self, Response> {
        let Some(base) = PageBase::from_parts(parts, auth) else {
            return Err(StatusCode::NOT_FOUND.into_response());
        };
        let env = &auth.config.environments[base.facts.env_index];
        match auth.full_session(env, &base.headers, auth.clock.now()) {
            Some(claims) => {
                let base = PageBase {
                    account: Some(claims.who.role),
                    ..base
                };
                Ok(Self { base, claims })
            }
            None => Err(Redirect::to(base.login_page()).into_response()),
        }
    }
}

impl SignedIn {
    /// Whether the session's second factor is recent enough for a sensitive change (the
    /// environment's `step_up` window).
    pub fn fresh(&self) -> bool {
        let env = &self.base.auth.config.environments[self.base.facts.env_index];
        let now = self.base.auth.clock.now();
        let mfa_at = self.claims.mfa_at;
        mfa_at.is_some_and(|t| t + env.policy.step_up_secs > now)
    }

    /// To the step-up page, coming back to `next` (a path).
    pub fn step_up(&self, next: &str) -> Response {
        let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
        Redirect::to(&format!("{}step-up?next={next}", self.base.prefix())).into_response()
    }
}

/// The session a posted form must belong to.
pub trait FormOwner {
    fn base(&self) -> &PageBase;
    fn sid(&self) -> &str;
}

impl FormOwner for PendingPage {
    fn base(&self) -> &PageBase {
        &self.base
    }
    fn sid(&self) -> &str {
        &self.claims.sid
    }
}

impl FormOwner for SignedIn {
    fn base(&self) -> &PageBase {
        &self.base
    }
    fn sid(&self) -> &str {
        &self.claims.sid
    }
}

/// A form posted by session `S`, with its CSRF token and origin verified.
pub struct Posted<S> {
    pub session: S,
    pub form: HashMap<String, String>,
}

impl<S> Posted<S> {
    pub fn field(&self, name: &str) -> &str {
        self.form.get(name).map_or("", String::as_str)
    }
}

impl<S> FromRequest<Arc<Auth>> for Posted<S>
where
    S: FromRequestParts<Arc<Auth>, Rejection = Response> + FormOwner + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, auth: &Arc<Auth>) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let session = S::from_request_parts(&mut parts, auth).await?;
        let Form(form) =
            Form::<HashMap<String, String>>::from_request(Request::from_parts(parts, body), auth)
                .await
                .map_err(IntoResponse::into_response)?;
        let base = session.base();
        let genuine = csrf::verify(
            &auth.keys,
            session.sid(),
            &base.headers,
            &base.facts.authority,
            form.get("csrf").map(String::as_str),
        );
        if !genuine {
            return Err(base.message(StatusCode::FORBIDDEN, "refused-title", "refused-text", None));
        }
        Ok(Self { session, form })
    }
}
