//! The data plane (the top adapter): listeners, TLS, the request phases (`pipeline`,
//! `phases`, `forward`, `login`, `decision`), request hygiene, the upstream client and
//! WebSockets. It translates HTTP to the core's operations and the core's outcomes to HTTP.

pub mod access_log;
mod assembly;
mod authority;
mod connection;
mod dashboard_logout;
pub mod decision;
mod drain;
pub mod error;
mod forward;
pub mod headers;
pub mod listener;
pub mod live;
pub mod login;
mod member_hash;
pub mod metrics;
pub mod ops;
mod phases;
pub mod pipeline;
mod probe;
pub mod reload;
pub mod server;
mod tell;
pub mod tls;
pub mod upgrade;
pub mod upstream;
pub mod vault;
pub mod websocket;

pub use server::{preflight, start, start_with, RunningGateway, StartError};
