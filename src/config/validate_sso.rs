//! Validation of SSO trust and of the identity assertion key.

use std::path::Path;
use std::sync::Arc;

use http::HeaderName;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::Algorithm;

use super::file::{FileAssertion, FileSso};
use super::validate::{read_secret, resolve, Errors};
use crate::federation::assertion::{Asserter, AssertionSettings};
use crate::federation::jwks::JwksSource;
use crate::federation::sso::{HeaderSso, JwtSettings, SsoSettings};
use rustls::pki_types::pem::PemObject;

fn header(errs: &mut Errors, key: String, name: &str) -> Option<HeaderName> {
    match HeaderName::from_bytes(name.as_bytes()) {
        Ok(h) => Some(h),
        Err(_) => {
            errs.push(key, format!("{name:?} is not a header name"));
            None
        }
    }
}

pub(super) fn sso(errs: &mut Errors, key: &str, sso: &FileSso, base: &Path) -> Option<SsoSettings> {
    let key = format!("{key}.sso");
    let before = errs.0.len();
    let jwt = sso.jwt_header.as_ref().and_then(|name| {
        let header = header(errs, format!("{key}.jwt_header"), name)?;
        let keys = jwks(errs, &key, sso, base)?;
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
        Some(JwtSettings {
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
    (errs.0.len() == before).then_some(SsoSettings { jwt, header: plain })
}

pub(super) fn assertion(
    errs: &mut Errors,
    a: &FileAssertion,
    base: &Path,
) -> Option<AssertionSettings> {
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
    // Built once here to check the key; the gateway builds its signer again at start.
    match Asserter::new(&pem, alg) {
        Ok(_) => Some(AssertionSettings { pem, alg }),
        Err(e) => {
            errs.push("assertion.key", e);
            None
        }
    }
}

/// The SSO's keys: exactly one of a JWKS file or an https JWKS URL.
fn jwks(errs: &mut Errors, key: &str, sso: &FileSso, base: &Path) -> Option<JwksSource> {
    match (&sso.jwks_file, &sso.jwks_url) {
        (Some(file), None) => {
            let path = resolve(base, file);
            let read = std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<JwkSet>(&b).map_err(|e| e.to_string()));
            match read {
                Ok(k) if !k.keys.is_empty() => Some(JwksSource::Fixed(k)),
                Ok(_) => {
                    errs.push(format!("{key}.jwks_file"), "has no keys");
                    None
                }
                Err(e) => {
                    errs.push(
                        format!("{key}.jwks_file"),
                        format!("{}: {e}", path.display()),
                    );
                    None
                }
            }
        }
        (None, Some(url)) => {
            let uri = match url.parse::<http::Uri>() {
                Ok(u) if u.scheme_str() == Some("https") && u.host().is_some() => u,
                _ => {
                    errs.push(
                        format!("{key}.jwks_url"),
                        format!("{url:?} is not an https URL"),
                    );
                    return None;
                }
            };
            let roots = match &sso.jwks_ca_file {
                None => crate::tls::load_system_roots(),
                Some(file) => {
                    let path = resolve(base, file);
                    let mut roots = rustls::RootCertStore::empty();
                    let certs = rustls::pki_types::CertificateDer::pem_file_iter(&path)
                        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                        .unwrap_or_default();
                    let (added, _) = roots.add_parsable_certificates(certs);
                    if added == 0 {
                        errs.push(
                            format!("{key}.jwks_ca_file"),
                            format!("no PEM certificate readable in {}", path.display()),
                        );
                        return None;
                    }
                    roots
                }
            };
            Some(JwksSource::Remote {
                uri,
                roots: Arc::new(roots),
                min_refresh: std::time::Duration::from_secs(sso.jwks_refresh_secs.max(1)),
            })
        }
        _ => {
            errs.push(
                format!("{key}.jwks_file"),
                "set exactly one of jwks_file and jwks_url with jwt_header",
            );
            None
        }
    }
}
