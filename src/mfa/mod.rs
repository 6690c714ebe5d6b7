//! Second factors. Each verifier is a pure function of (stored state, input, now) that returns
//! the new state; the caller persists it and claims single-use markers atomically in the store,
//! which is what makes "accepted once" hold across instances.

pub mod attempts;
pub mod backup_codes;
pub mod email_otp;
pub mod passkey;
pub mod qr;
pub mod totp;
