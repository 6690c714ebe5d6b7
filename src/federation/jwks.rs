//! The SSO's signing keys: a fixed JWKS file, or a JWKS fetched over https. A remote set is
//! fetched when a token names a key id not known yet (the SSO rotated its keys), at most once
//! per `jwks_refresh_secs`, with a bounded size, so tokens with random key ids cannot make the
//! gateway hammer the SSO.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use http::Uri;
use http_body_util::{BodyExt, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::{Jwk, JwkSet};

const MAX_BYTES: usize = 256 * 1024;
const MAX_KEYS: usize = 100;

pub struct RemoteJwks {
    uri: Uri,
    /// Least time between two fetches.
    min_refresh: Duration,
    client: Client<HttpsConnector<HttpConnector>, Body>,
    /// Serializes fetches and remembers when the last one started.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

/// Where an SSO's keys come from, as configured (data; `Jwks::build` makes the key source).
#[derive(Debug, Clone)]
pub enum JwksSource {
    /// A key set read from a file at validation.
    Fixed(JwkSet),
    /// An https key set, fetched (and refetched for unknown key ids) trusting `roots`.
    Remote {
        uri: Uri,
        roots: Arc<rustls::RootCertStore>,
        min_refresh: Duration,
    },
}

pub enum Jwks {
    Fixed(JwkSet),
    Remote {
        keys: RwLock<Arc<JwkSet>>,
        source: Box<RemoteJwks>,
    },
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fixed(set) => write!(f, "Jwks::Fixed({} keys)", set.keys.len()),
            Self::Remote { source, .. } => write!(f, "Jwks::Remote({})", source.uri),
        }
    }
}

impl Jwks {
    /// The key source for `source` (at start: a remote one gets its own client).
    pub fn build(source: &JwksSource) -> Result<Self, String> {
        match source {
            JwksSource::Fixed(set) => Ok(Self::Fixed(set.clone())),
            JwksSource::Remote {
                uri,
                roots,
                min_refresh,
            } => Self::remote(uri.clone(), (**roots).clone(), *min_refresh),
        }
    }

    /// A JWKS fetched from `uri` (https) trusting `roots`.
    pub fn remote(
        uri: Uri,
        roots: rustls::RootCertStore,
        min_refresh: Duration,
    ) -> Result<Self, String> {
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(Duration::from_secs(5)));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self::Remote {
            keys: RwLock::new(Arc::new(JwkSet { keys: Vec::new() })),
            source: Box::new(RemoteJwks {
                uri,
                min_refresh,
                client: Client::builder(TokioExecutor::new()).build(connector),
                last_fetch: tokio::sync::Mutex::new(None),
            }),
        })
    }

    /// The key with id `kid`, fetching the remote set again if it is unknown.
    pub async fn find(&self, kid: &str) -> Option<Jwk> {
        match self {
            Self::Fixed(set) => set.find(kid).cloned(),
            Self::Remote { keys, source } => {
                let known = |keys: &RwLock<Arc<JwkSet>>| {
                    keys.read()
                        .unwrap_or_else(|p| p.into_inner())
                        .find(kid)
                        .cloned()
                };
                if let Some(jwk) = known(keys) {
                    return Some(jwk);
                }
                let mut last = source.last_fetch.lock().await;
                // Another request may have fetched while we waited.
                if let Some(jwk) = known(keys) {
                    return Some(jwk);
                }
                if last.is_some_and(|t| t.elapsed() < source.min_refresh) {
                    return None;
                }
                *last = Some(Instant::now());
                match source.fetch().await {
                    Ok(set) => {
                        let found = set.find(kid).cloned();
                        *keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(set);
                        found
                    }
                    Err(e) => {
                        tracing::warn!(url = %source.uri, error = %e, "SSO key set could not be fetched");
                        None
                    }
                }
            }
        }
    }
}

impl RemoteJwks {
    async fn fetch(&self) -> Result<JwkSet, String> {
        let req = http::Request::get(self.uri.clone())
            .header(http::header::ACCEPT, "application/json")
            .body(Body::empty())
            .map_err(|e| e.to_string())?;
        let resp = tokio::time::timeout(Duration::from_secs(10), self.client.request(req))
            .await
            .map_err(|_| "timed out".to_string())?
            .map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("status {}", resp.status()));
        }
        let body = Limited::new(resp.into_body(), MAX_BYTES)
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        let mut set: JwkSet = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        set.keys.truncate(MAX_KEYS);
        Ok(set)
    }
}
