//! The authentication core (layer 6 of the README's architecture table): who a request is
//! (`identify`), what a watched login's answer means (`login_flow`, `login_intercept`), the
//! credential vault's operations (`vault`), the one way sessions end (`lifecycle`), and the
//! enforcement sweep. It returns data, never HTTP responses, takes `now` from its clock, and
//! reaches the dashboard only through ports the adapters implement (`DashboardLogout`).

pub mod admin;
pub mod auth;
pub mod complete;
pub mod enforcement;
pub mod exports;
pub mod identify;
pub mod lifecycle;
pub mod login_flow;
pub mod login_intercept;
pub mod passkeys;
pub mod recovery;
pub mod retention;
pub mod self_service;
pub mod vault;
