//! The integration tests, as one test binary (the support tree compiles and links once).
//! Each module is one area of the product; `support` is the shared harness.

mod support;

mod activity;
mod admin;
mod admin_api;
mod browser;
mod bypass;
mod config;
mod demo_dashboard;
mod email_otp;
mod enforcement;
mod frameworks;
mod instances;
mod layers;
mod member_hash;
mod mfa_devices;
mod mfa_flow;
mod mfa_security;
mod page_audit;
mod pages;
mod passkeys;
mod policy;
mod proxy_http;
mod reading_rule;
mod redis_failover;
mod redis_faults;
mod reload;
mod security;
mod shutdown;
mod sso;
mod store;
mod websocket;
