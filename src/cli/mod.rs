//! Command-line tools beyond running the gateway.

pub mod admin;
pub mod audit;
pub mod reload;
