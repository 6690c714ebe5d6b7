//! TLS for both sides: the downstream server config (SNI picks the environment's certificate)
//! and the upstream client config (system roots, a CA file, or an explicit insecure opt-out).

use std::collections::HashMap;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

use crate::config::{Config, UpstreamTls};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// Picks the certificate by SNI. A hello without SNI, or for a host no environment serves, gets
/// no certificate: the handshake fails rather than presenting some other environment's identity.
#[derive(Debug)]
struct SniResolver {
    by_host: HashMap<String, Arc<CertifiedKey>>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = hello.server_name()?;
        self.by_host
            .get(name.trim_end_matches('.').to_ascii_lowercase().as_str())
            .cloned()
    }
}

/// Downstream TLS 1.2/1.3 config with ALPN h2 + http/1.1.
pub fn server_config(config: &Config) -> Result<Arc<ServerConfig>, rustls::Error> {
    let by_host = config
        .environments
        .iter()
        .flat_map(|env| {
            env.hosts
                .iter()
                .map(|h| (h.clone(), env.certified_key.clone()))
        })
        .collect();
    let mut tls = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SniResolver { by_host }));
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(tls))
}

/// Upstream client TLS. `system_roots` is loaded once by the caller and shared.
pub fn client_config(
    upstream: &UpstreamTls,
    system_roots: &Arc<RootCertStore>,
) -> Result<ClientConfig, rustls::Error> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
    let config = match upstream {
        UpstreamTls::SystemRoots => builder
            .with_root_certificates(system_roots.clone())
            .with_no_client_auth(),
        UpstreamTls::CaFile(certs) => {
            let mut roots = RootCertStore::empty();
            for cert in certs {
                roots.add(cert.clone())?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        UpstreamTls::InsecureSkipVerify => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider())))
            .with_no_client_auth(),
    };
    // ALPN is set by the connector (HTTP/1.1 only, which WebSocket upgrades need).
    Ok(config)
}

/// Accepts any upstream certificate (signatures are still checked). Only reachable through
/// `upstream_insecure_skip_verify = true`, which is logged as a warning at start.
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
