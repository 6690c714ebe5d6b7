//! Validation of SSO trust and of the identity assertion key.

use std::path::Path;
use std::sync::Arc;

use http::HeaderName;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::Algorithm;

use super::file::{FileAssertion, FileSso};
use super::validate::{read_secret, resolve, Errors};
use crate::identity::assertion::Asserter;
use crate::identity::sso::{HeaderSso, JwtSso, Sso};

fn header(errs: &mut Errors, key: String, name: &str) -> Option<HeaderName> {
    match HeaderName::from_bytes(name.as_bytes()) {
        Ok(h) => Some(h),
        Err(_) => {
            errs.push(key, format!("{name:?} is not a header name"));
            None
        }
    }
}

pub(super) fn sso(errs: &mut Errors, key: &str, sso: &FileSso, base: &Path) -> Option<Arc<Sso>> {
    let key = format!("{key}.sso");
    let before = errs.0.len();
    let jwt = sso.jwt_header.as_ref().and_then(|name| {
        let header = header(errs, format!("{key}.jwt_header"), name)?;
        let Some(file) = &sso.jwks_file else {
            errs.push(format!("{key}.jwks_file"), "is required with jwt_header");
            return None;
        };
        let path = resolve(base, file);
        let keys = match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<JwkSet>(&b).map_err(|e| e.to_string()))
        {
            Ok(k) if !k.keys.is_empty() => k,
            Ok(_) => {
                errs.push(format!("{key}.jwks_file"), "has no keys");
                return None;
            }
            Err(e) => {
                errs.push(
                    format!("{key}.jwks_file"),
                    format!("{}: {e}", path.display()),
                );
                return None;
            }
        };
        let mut algorithms = Vec::new();
        for (i, a) in sso.algorithms.iter().enumerate() {
            match a.parse::<Algorithm>() {
                // HMAC would let anyone holding the (public) JWKS mint tokens.
                Ok(Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) | Err(_) => errs.push(
                    format!("{key}.algorithms[{i}]"),
                    format!("{a:?} is not an allowed asymmetric algorithm"),
                ),
                Ok(alg) => algorithms.push(alg),
            }
        }
        if sso.issuer.is_none() || sso.audience.is_none() {
            errs.push(
                key.clone(),
                "issuer and audience are required with jwt_header",
            );
        }
        Some(JwtSso {
            header,
            keys,
            algorithms,
            issuer: sso.issuer.clone(),
            audience: sso.audience.clone(),
            required_amr: sso.required_amr.clone(),
            subject_claim: sso.subject_claim.clone(),
            role_claim: sso.role_claim.clone(),
            environments_claim: sso.environments_claim.clone(),
            leeway_secs: sso.leeway_secs.min(300),
        })
    });
    let plain = sso.trusted_header.as_ref().and_then(|name| {
        let header = header(errs, format!("{key}.trusted_header"), name)?;
        if sso.trusted_proxies.is_empty() {
            errs.push(
                format!("{key}.trusted_proxies"),
                "is required with trusted_header",
            );
        }
        let trusted = sso
            .trusted_proxies
            .iter()
            .enumerate()
            .filter_map(|(i, cidr)| match cidr.parse::<ipnet::IpNet>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errs.push(
                        format!("{key}.trusted_proxies[{i}]"),
                        format!("{cidr:?} is not a CIDR"),
                    );
                    None
                }
            })
            .collect();
        Some(HeaderSso { header, trusted })
    });
    if sso.jwt_header.is_none() && sso.trusted_header.is_none() {
        errs.push(key, "set jwt_header and/or trusted_header");
    }
    (errs.0.len() == before).then(|| Arc::new(Sso { jwt, header: plain }))
}

pub(super) fn assertion(
    errs: &mut Errors,
    a: &FileAssertion,
    base: &Path,
) -> Option<Arc<Asserter>> {
    let alg = match a.algorithm.as_str() {
        "ES256" => Algorithm::ES256,
        "EdDSA" => Algorithm::EdDSA,
        other => {
            errs.push(
                "assertion.algorithm",
                format!("{other:?} is not \"ES256\" or \"EdDSA\""),
            );
            return None;
        }
    };
    let pem = match read_secret(&a.key, base) {
        Ok(p) => p,
        Err(e) => {
            errs.push("assertion.key", e);
            return None;
        }
    };
    match Asserter::new(&pem, alg) {
        Ok(asserter) => Some(Arc::new(asserter)),
        Err(e) => {
            errs.push("assertion.key", e);
            None
        }
    }
}
