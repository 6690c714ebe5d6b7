//! Trusted single sign-on (DESIGN.md "SSO"): an identity asserted by an SSO proxy in front of
//! the gateway, either as a signed JWT (verified against the SSO's JWKS with an algorithm
//! allow-list, issuer, audience, expiry and optional `amr`) or as a plain header believed only
//! when the TCP peer is a trusted proxy. Users the SSO vouches for skip the second factor.

use std::net::IpAddr;

use http::{HeaderMap, HeaderName};
use ipnet::IpNet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::jwks::{Jwks, JwksSource};
use crate::domain::normalize_user;
use crate::domain::Role;

/// JWT SSO as configured (data).
#[derive(Debug, Clone)]
pub struct JwtSettings {
    pub header: HeaderName,
    pub keys: JwksSource,
    pub algorithms: Vec<Algorithm>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub required_amr: Vec<String>,
    pub subject_claim: String,
    pub role_claim: Option<String>,
    pub environments_claim: Option<String>,
    pub leeway_secs: u64,
}

/// A JWT verifier built from its settings at start.
#[derive(Debug)]
pub struct JwtSso {
    pub settings: JwtSettings,
    pub keys: Jwks,
}

#[derive(Debug, Clone)]
pub struct HeaderSso {
    pub header: HeaderName,
    pub trusted: Vec<IpNet>,
}

/// An environment's SSO trust as configured (data, held by the config model).
#[derive(Debug, Clone, Default)]
pub struct SsoSettings {
    pub jwt: Option<JwtSettings>,
    pub header: Option<HeaderSso>,
}

/// An environment's SSO verifier, built from its settings at start.
#[derive(Debug, Default)]
pub struct Sso {
    pub jwt: Option<JwtSso>,
    pub header: Option<HeaderSso>,
}

impl Sso {
    /// The verifier for `settings`: a remote key set gets its own https client.
    pub fn build(settings: &SsoSettings) -> Result<Self, String> {
        let jwt = match &settings.jwt {
            Some(s) => Some(JwtSso {
                keys: Jwks::build(&s.keys)?,
                settings: s.clone(),
            }),
            None => None,
        };
        Ok(Self {
            jwt,
            header: settings.header.clone(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoIdentity {
    pub user: String,
    /// From the role claim, when configured and valid.
    pub role: Option<Role>,
    /// From the environments claim, when configured.
    pub environments: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsoOutcome {
    /// No SSO assertion on the request.
    Absent,
    Verified(SsoIdentity),
    /// An assertion that failed verification: the request is treated as anonymous.
    Rejected(String),
    /// A plain identity header from a peer that is not a trusted proxy.
    Spoofed,
}

/// The header of an SSO token, refused unless its algorithm is allowed (asymmetric only;
/// "none" never parses as an algorithm) and it names no critical extension (RFC 7515
/// §4.1.11: one the verifier does not understand fails the token).
pub fn read_header(token: &str, allowed: &[Algorithm]) -> Result<jsonwebtoken::Header, String> {
    let header = decode_header(token).map_err(|e| format!("unreadable header: {e}"))?;
    if header.crit.as_ref().is_some_and(|c| !c.is_empty()) {
        return Err("token has critical header parameters".into());
    }
    if !allowed.contains(&header.alg) {
        return Err(format!("algorithm {:?} not allowed", header.alg));
    }
    Ok(header)
}

impl JwtSso {
    async fn verify(&self, token: &str) -> Result<SsoIdentity, String> {
        let header = read_header(token, &self.settings.algorithms)?;
        let kid = header.kid.ok_or("token has no kid")?;
        let jwk = self
            .keys
            .find(&kid)
            .await
            .ok_or_else(|| format!("unknown kid {kid:?}"))?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| format!("unusable key: {e}"))?;
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.leeway = self.settings.leeway_secs;
        validation.validate_nbf = true;
        match &self.settings.issuer {
            Some(iss) => validation.set_issuer(&[iss]),
            None => validation.iss = None,
        }
        match &self.settings.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        // Configured claims must be present, not only correct when present.
        let mut required = vec!["exp"];
        required.extend(self.settings.issuer.is_some().then_some("iss"));
        required.extend(self.settings.audience.is_some().then_some("aud"));
        validation.set_required_spec_claims(&required);
        let claims = decode::<Value>(token, &key, &validation)
            .map_err(|e| format!("invalid token: {e}"))?
            .claims;
        let amr: Vec<&str> = claims
            .get("amr")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(missing) = self
            .settings
            .required_amr
            .iter()
            .find(|r| !amr.contains(&r.as_str()))
        {
            return Err(format!("amr lacks {missing:?}"));
        }
        let user = claims
            .get(&self.settings.subject_claim)
            .and_then(Value::as_str)
            .map(normalize_user)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| format!("no {} claim", self.settings.subject_claim))?;
        let role = self
            .settings
            .role_claim
            .as_ref()
            .and_then(|c| claims.get(c))
            .and_then(Value::as_str)
            .and_then(Role::parse);
        let environments = self
            .settings
            .environments_claim
            .as_ref()
            .and_then(|c| claims.get(c))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            });
        Ok(SsoIdentity {
            user,
            role,
            environments,
        })
    }
}

impl Sso {
    /// The SSO identity of a request from `peer`, if any.
    pub async fn identify(&self, headers: &HeaderMap, peer: IpAddr) -> SsoOutcome {
        let names = self.jwt.iter().map(|j| &j.settings.header);
        if names
            .chain(self.header.iter().map(|h| &h.header))
            .any(|n| headers.get_all(n).iter().count() > 1)
        {
            // Which copy a dashboard reads differs: never "first wins".
            return SsoOutcome::Rejected("SSO header sent more than once".into());
        }
        if let Some(jwt) = &self.jwt {
            if let Some(token) = headers
                .get(&jwt.settings.header)
                .and_then(|v| v.to_str().ok())
            {
                return match jwt.verify(token.trim()).await {
                    Ok(id) => SsoOutcome::Verified(id),
                    Err(why) => SsoOutcome::Rejected(why),
                };
            }
        }
        if let Some(plain) = &self.header {
            if let Some(value) = headers.get(&plain.header).and_then(|v| v.to_str().ok()) {
                if !plain.trusted.iter().any(|net| net.contains(&peer)) {
                    return SsoOutcome::Spoofed;
                }
                let user = normalize_user(value);
                if !user.is_empty() {
                    return SsoOutcome::Verified(SsoIdentity {
                        user,
                        role: None,
                        environments: None,
                    });
                }
            }
        }
        SsoOutcome::Absent
    }
}
