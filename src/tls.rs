//! TLS trust material shared by every outbound client (leaf layer): the upstream dashboard,
//! the SSO key set fetcher and, through config validation, anything else that must verify a
//! server against the operating system's roots.

use rustls::RootCertStore;

/// Loads the OS trust store; problems are logged, and an empty store fails closed later.
pub fn load_system_roots() -> RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    for err in &found.errors {
        tracing::warn!(error = %err, "problem loading system root certificates");
    }
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    tracing::debug!(added, "system root certificates loaded");
    roots
}
