//! Who is making a request: login interception (the dashboard's password login, watched).

pub mod auth;
pub mod enforcement;
pub mod identify;
pub mod lifecycle;
pub mod login_flow;
pub mod login_intercept;
pub mod vault;
