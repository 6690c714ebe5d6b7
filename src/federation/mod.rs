//! Identity that crosses the gateway's border, in both directions (below the config model,
//! which holds these services once built): trusted SSO coming in (signed JWTs checked against
//! a fetched key set, or headers from a trusted proxy), a chat widget's customer identity
//! vouched for by the customer's backend (the member hash), and the signed identity
//! assertion going out to the dashboard. JWT handling lives here only.

pub mod assertion;
pub mod jwks;
pub mod member_hash;
pub mod sso;
