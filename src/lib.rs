//! mfagate: a TLS reverse proxy that makes an existing chat/agent dashboard require
//! multi-factor authentication per browser and device. See DESIGN.md for the architecture.

pub mod config;
pub mod demo;
pub mod logging;
pub mod proxy;
pub mod web;
pub mod store;
pub mod mfa;
