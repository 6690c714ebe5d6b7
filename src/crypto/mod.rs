//! Secrets at rest (leaf layer): authenticated encryption under the master key ring, HMAC,
//! constant-time comparison and the serde helper for byte fields. Everything that seals a
//! code, a seed or a credential goes through here, whichever layer it sits in.

pub mod bytes;
pub mod sealed_file;
pub mod secret_box;
