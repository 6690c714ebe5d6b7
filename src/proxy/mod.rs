//! The data plane: listeners, TLS, request hygiene, the pipeline, upstream and WebSockets.

pub mod access_log;
mod authority;
pub mod decision;
mod drain;
pub mod error;
mod forward;
pub mod headers;
pub mod listener;
pub mod live;
pub mod login;
pub mod metrics;
pub mod ops;
mod phases;
pub mod pipeline;
mod probe;
pub mod server;
mod tell;
pub mod tls;
pub mod upstream;
pub mod vault;
pub mod websocket;

pub use server::{start, RunningGateway, StartError};
