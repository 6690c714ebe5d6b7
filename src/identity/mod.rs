//! Who is making a request: login interception (the dashboard's password login, watched) and,
//! later, trusted SSO assertions.

pub mod assertion;
pub mod auth;
pub mod jwks;
pub mod login_flow;
pub mod login_intercept;
pub mod sso;
pub mod vault;
