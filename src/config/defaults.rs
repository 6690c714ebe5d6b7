//! Defaults shared by serde and the reference config; one place so they cannot drift.

pub fn listen() -> String {
    "0.0.0.0:8443".into()
}
pub fn admin_listen() -> String {
    "127.0.0.1:9090".into()
}
pub fn gateway_prefix() -> String {
    "/.mfagate/".into()
}
pub fn data_dir() -> String {
    "data".into()
}
pub fn hsts_max_age_secs() -> u64 {
    31_536_000
}
pub fn header_read_secs() -> u64 {
    10
}
pub fn idle_secs() -> u64 {
    60
}
pub fn upstream_connect_secs() -> u64 {
    5
}
pub fn upstream_response_secs() -> u64 {
    60
}
pub fn shutdown_drain_secs() -> u64 {
    10
}
pub fn max_request_header_bytes() -> usize {
    64 * 1024
}
pub fn log_format() -> String {
    "auto".into()
}
pub fn log_level() -> String {
    "info".into()
}
pub fn mfa() -> String {
    "off".into()
}
pub fn yes() -> bool {
    true
}
pub fn session_idle_minutes() -> u64 {
    30
}
pub fn session_absolute_hours() -> u64 {
    12
}
pub fn device_trust_days() -> u64 {
    30
}
pub fn store_backend() -> String {
    "embedded".into()
}
pub fn store_topology() -> String {
    "standalone".into()
}
pub fn max_staleness_secs() -> u64 {
    30
}
pub fn store_prefix() -> String {
    "mfagate:".into()
}
pub fn assertion_algorithm() -> String {
    "ES256".into()
}
pub fn sso_algorithms() -> Vec<String> {
    vec!["RS256".into(), "ES256".into(), "EdDSA".into()]
}
pub fn sso_subject_claim() -> String {
    "email".into()
}
pub fn jwks_refresh_secs() -> u64 {
    30
}
pub fn sso_leeway_secs() -> u64 {
    30
}
pub fn deny() -> String {
    "deny".into()
}
pub fn mfa_roles() -> Vec<String> {
    vec!["agent".into(), "supervisor".into(), "admin".into()]
}
pub fn grace_period_days() -> u64 {
    7
}
pub fn step_up_minutes() -> u64 {
    10
}
pub fn mail_transport() -> String {
    "smtp".into()
}
pub fn mail_security() -> String {
    "starttls".into()
}
pub fn mail_timeout_secs() -> u64 {
    10
}
pub fn mail_retries() -> u32 {
    3
}
pub fn mail_queue() -> usize {
    1000
}
pub fn methods() -> Vec<String> {
    vec!["totp".into(), "backup".into()]
}
pub fn otp_ttl_secs() -> u64 {
    300
}
pub fn otp_resend_after_secs() -> u64 {
    60
}
pub fn otp_max_sends() -> u32 {
    3
}
pub fn otp_send_window_secs() -> u64 {
    300
}
pub fn max_failures() -> u32 {
    3
}
pub fn block_secs() -> u64 {
    300
}
pub fn ip_max_failures() -> u32 {
    20
}
pub fn ip_block_secs() -> u64 {
    900
}
pub fn login_per_ip_per_minute() -> u32 {
    30
}
pub fn anonymous() -> String {
    "allow".into()
}
pub fn login_page() -> String {
    "/login".into()
}
pub fn max_login_body_bytes() -> usize {
    64 * 1024
}
pub fn post() -> String {
    "POST".into()
}
pub fn form() -> String {
    "form".into()
}
pub fn next_param() -> String {
    "next".into()
}
pub fn member_hash_on_failure() -> String {
    "refuse".into()
}
pub fn member_verified_header() -> String {
    "X-Mfagate-Member-Verified".into()
}
