//! mfagate: a TLS reverse proxy that makes an existing chat/agent dashboard require
//! multi-factor authentication per browser and device. See DESIGN.md for the architecture and
//! the README's architecture section for the layer order of these modules (checked by
//! `tests/it/layers.rs`).

pub mod audit;
pub mod canon;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
#[cfg(feature = "demo")]
pub mod demo;
pub mod domain;
pub mod federation;
pub mod gate;
pub mod i18n;
pub mod logging;
pub mod memory;
pub mod mfa;
pub mod notify;
pub mod policy;
pub mod proxy;
pub mod session;
pub mod store;
pub mod tls;
pub mod web;
