//! What the dashboard learns of who a forwarded request is: the identity headers the
//! environment asks for and, when configured, the signed identity assertion. Clients' copies
//! of both are stripped before (`headers.rs`).

use http::{HeaderMap, HeaderValue};

use crate::config::Environment;
use crate::federation::assertion::{Asserter, Assertion, HEADER};
use crate::gate::auth::Auth;
use crate::gate::identify::Asserted;

pub(super) fn tell_upstream(
    who: &Asserted,
    auth: &Auth,
    env: &Environment,
    asserter: Option<&Asserter>,
    headers: &mut HeaderMap,
) {
    let email = who.email.clone().or_else(|| auth.user_email(&who.user));
    let ids = &env.identity_headers;
    let pairs = [
        (&ids.user, Some(who.user.as_str())),
        (&ids.email, email.as_deref()),
    ];
    for (name, value) in pairs {
        if let (Some(n), Some(v)) = (name, value.and_then(|v| HeaderValue::from_str(v).ok())) {
            headers.insert(n.clone(), v);
        }
    }
    let Some(asserter) = asserter else {
        return;
    };
    let assertion = Assertion {
        user: &who.user,
        email: email.as_deref(),
        role: who.role.as_str(),
        env: &env.name,
        amr: who.amr(),
        auth_time: who.mfa_at.unwrap_or(who.created_at),
    };
    if let Some(token) = asserter.sign(&assertion, auth.clock.now()) {
        if let Ok(v) = HeaderValue::from_str(&token) {
            headers.insert(HEADER, v);
        }
    }
}
