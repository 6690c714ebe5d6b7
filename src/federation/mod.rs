//! Identity that crosses the gateway's border, in both directions (below the config model,
//! which holds these services once built): trusted SSO coming in (signed JWTs checked against
//! a fetched key set, or headers from a trusted proxy) and the signed identity assertion going
//! out to the dashboard. JWT handling lives here only.

pub mod assertion;
pub mod jwks;
pub mod sso;
