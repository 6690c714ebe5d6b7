//! The proxy layer's error type: what went wrong (for the log) and what the client is told.

use axum::body::Body;
use http::{header, HeaderValue, Response, StatusCode};

use crate::canon::normalize::PathError;
use crate::web::error::Problem;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("bad request path: {0}")]
    BadPath(#[from] PathError),
    #[error("no environment serves this host")]
    UnknownHost,
    #[error("TLS server name and Host belong to different environments")]
    MisdirectedSni,
    #[error("upstream connection failed: {0}")]
    UpstreamConnect(String),
    #[error("upstream did not answer within {0:?}")]
    UpstreamTimeout(std::time::Duration),
    #[error("upstream error: {0}")]
    Upstream(String),
    #[error("request body is too large to inspect")]
    PayloadTooLarge,
    #[error("login request body refused: {0}")]
    BadLoginBody(String),
    #[error("the dashboard accepted a login but the user could not be identified")]
    LoginUnidentified,
    #[error("state store unavailable: {0}")]
    Unavailable(String),
    #[error("too many sign-in attempts from this client")]
    TooManyLogins,
    /// A request the gateway refuses to read one way when a dashboard could read it another.
    #[error("ambiguous request: {0}")]
    Ambiguous(&'static str),
    /// The session was revoked while the dashboard had not answered yet (a long poll).
    #[error("session revoked while waiting for the dashboard")]
    Revoked,
    /// A chat widget's member id the gateway does not pass on: its hash does not vouch for
    /// it (with `on_failure = "refuse"`), or the body it may be in cannot be read to check.
    #[error("member hash invalid: {0}")]
    MemberHashInvalid(&'static str),
}

impl ProxyError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadPath(_) | Self::BadLoginBody(_) | Self::Ambiguous(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::LoginUnidentified => StatusCode::BAD_GATEWAY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Revoked => StatusCode::UNAUTHORIZED,
            Self::MemberHashInvalid(_) => StatusCode::FORBIDDEN,
            Self::TooManyLogins => StatusCode::TOO_MANY_REQUESTS,
            Self::UnknownHost | Self::MisdirectedSni => StatusCode::MISDIRECTED_REQUEST,
            Self::UpstreamConnect(_) | Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The catalogue key of the sentence a user sees; never carries internal detail.
    fn public_message(&self) -> &'static str {
        match self {
            Self::BadPath(_) => "problem-bad-path",
            Self::Ambiguous(_) => "problem-malformed",
            Self::Revoked => "problem-revoked",
            Self::BadLoginBody(_) => "problem-bad-login",
            Self::PayloadTooLarge => "problem-too-large",
            Self::MemberHashInvalid(_) => "problem-member",
            Self::LoginUnidentified => "problem-insecure",
            Self::Unavailable(_) => "problem-unavailable",
            Self::TooManyLogins => "problem-too-many",
            Self::UnknownHost | Self::MisdirectedSni => "problem-host",
            Self::UpstreamConnect(_) | Self::Upstream(_) => "problem-unreachable",
            Self::UpstreamTimeout(_) => "problem-timeout",
        }
    }

    /// Renders HTML, or JSON for API clients, as every gateway-made error is.
    /// `env` is the request's environment, when one was found (its name and branding).
    pub fn to_response(
        &self,
        json: bool,
        env: Option<&crate::config::Environment>,
        prefix: &str,
        lang: crate::i18n::Lang,
    ) -> Response<Body> {
        if let Self::MemberHashInvalid(_) = self {
            return member_hash_refusal();
        }
        let problem = Problem {
            status: self.status(),
            message: self.public_message(),
            lang,
            brand: env.map_or("mfagate", |e| e.display_name.as_str()),
            prefix,
            json,
            branding: env.map(|e| &e.branding),
        };
        let mut resp = problem.render();
        if matches!(self, Self::TooManyLogins) {
            // The login rate is counted per minute.
            let h = resp.headers_mut();
            h.insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        }
        resp
    }
}

/// 403 `{"error":"member_hash_invalid"}`, always JSON: the client is a chat widget's script,
/// which tells this refusal apart by its code.
fn member_hash_refusal() -> Response<Body> {
    let mut resp = Response::new(Body::from(r#"{"error":"member_hash_invalid"}"#));
    *resp.status_mut() = StatusCode::FORBIDDEN;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    crate::web::templates::secure_headers(h);
    resp
}
