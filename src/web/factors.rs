//! Factor checks against the store, shared by the sign-in pages and the account pages: each
//! runs the pure verifier, then claims the single-use marker so no instance accepts it twice.

use super::extract::PageBase;
use crate::audit::{Context, EventKind};
use crate::domain::Factor;
use crate::gate::auth::Auth;
use crate::mfa::attempts::{admit, record};
use crate::mfa::backup_codes::BackupCodes;
use crate::mfa::totp::{self, TotpOutcome};
use crate::store::StoreError;

/// Checks a TOTP code of `user`'s active factor; a replay is audited and refused.
pub async fn check_totp(
    auth: &Auth,
    ctx: &Context,
    user: &str,
    code: &str,
) -> Result<bool, StoreError> {
    let Some(mut record) = auth.records.totp(user).await? else {
        return Ok(false);
    };
    let secret = auth.records.totp_secret(user, &record)?;
    match totp::verify(&secret, code, auth.clock.now(), record.state) {
        TotpOutcome::Accepted { step, state } => {
            if !auth.records.claim_totp_step(user, step).await? {
                auth.audit.record(ctx.event(EventKind::TotpReplay)).await;
                return Ok(false);
            }
            record.state = state;
            auth.records.save_totp_state(user, &record).await?;
            Ok(true)
        }
        TotpOutcome::Replayed => {
            auth.audit.record(ctx.event(EventKind::TotpReplay)).await;
            Ok(false)
        }
        TotpOutcome::Invalid => Ok(false),
    }
}

/// The authenticator seed being set up for `user`: the one pending, else a new one (kept
/// apart from any active factor until confirmed).
pub async fn seed_to_confirm(auth: &Auth, user: &str) -> Result<Vec<u8>, StoreError> {
    if let Some(rec) = auth.records.pending_totp(user).await? {
        return auth.records.totp_secret(user, &rec);
    }
    let mut secret = vec![0u8; totp::SECRET_BYTES];
    auth.keys.random(&mut secret);
    auth.records
        .begin_totp(user, &secret, auth.clock.now())
        .await?;
    Ok(secret)
}

/// How confirming a new seed went.
pub enum Confirmed {
    /// The seed is the user's authenticator now (replacing any old one).
    Activated,
    /// No seed is being set up (expired): start again.
    NoSeed,
    /// The code was wrong; the seed, to show again, and the tries left.
    Wrong(Vec<u8>, u32),
    Blocked(u64),
}

/// Checks `code` against the seed being set up, regulated like every code, and on success
/// makes it the user's authenticator (its time step claimed, so it is not accepted twice).
pub async fn confirm_seed(
    base: &PageBase,
    user: &str,
    code: &str,
) -> Result<Confirmed, StoreError> {
    let auth = &base.auth;
    let Some(record) = auth.records.pending_totp(user).await? else {
        return Ok(Confirmed::NoSeed);
    };
    let secret = auth.records.totp_secret(user, &record)?;
    let mut accepted = None;
    let check = async {
        let outcome = totp::verify(&secret, code, auth.clock.now(), record.state);
        if let TotpOutcome::Accepted { step, state } = outcome {
            accepted = Some((step, state));
        }
        Ok(accepted.is_some())
    };
    let verdict = regulated(base, user, Factor::TotpEnroll, check).await?;
    let (step, state) = match (verdict, accepted) {
        (Verdict::Accepted, Some(a)) => a,
        (
            Verdict::Blocked { until }
            | Verdict::Rejected {
                blocked_until: Some(until),
                ..
            },
            _,
        ) => return Ok(Confirmed::Blocked(until)),
        (Verdict::Rejected { left, .. }, _) => return Ok(Confirmed::Wrong(secret, left)),
        _ => return Ok(Confirmed::Wrong(secret, 0)),
    };
    auth.records.claim_totp_step(user, step).await?;
    let record = crate::store::records::TotpRecord { state, ..record };
    auth.records.activate_totp(user, &record).await?;
    Ok(Confirmed::Activated)
}

/// Uses one backup code; returns how many are left, or `None` if the code did not work.
pub async fn use_backup_code(
    auth: &Auth,
    ctx: &Context,
    user: &str,
    code: &str,
) -> Result<Option<usize>, StoreError> {
    let Some(codes) = auth.records.backup_codes(user).await? else {
        return Ok(None);
    };
    let Some((index, next)) = codes.verify(code, auth.clock.now()) else {
        return Ok(None);
    };
    if !auth
        .records
        .claim_backup_code(user, codes.generation, index)
        .await?
    {
        return Ok(None);
    }
    auth.records.save_backup_codes(user, &next).await?;
    let remaining = next.remaining();
    auth.audit
        .record(ctx.event(EventKind::BackupCodeUsed { remaining }))
        .await;
    Ok(Some(remaining))
}

/// A new set of backup codes replacing any previous one; returns the codes to show once.
pub async fn new_backup_codes(auth: &Auth, user: &str) -> Result<Vec<String>, StoreError> {
    let previous = auth
        .records
        .backup_codes(user)
        .await?
        .map_or(0, |b| b.generation);
    let (codes, plain) = BackupCodes::generate(&auth.keys, previous);
    auth.records.save_backup_codes(user, &codes).await?;
    Ok(plain)
}

/// The outcome of a regulated code entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    /// Evaluated and wrong; `blocked_until` is set when this failure started a block, else
    /// `left` entries remain before one does.
    Rejected {
        blocked_until: Option<u64>,
        left: u32,
    },
    /// Not evaluated: the user or the client IP is blocked until then.
    Blocked {
        until: u64,
    },
}

/// Evaluates one code entry under per-user and per-IP regulation. The user's lock (then the
/// IP's) is held across read, evaluation and write, so parallel entries are counted exactly,
/// also across instances; blocked entries are refused without evaluating the code.
pub async fn regulated(
    base: &PageBase,
    user: &str,
    method: Factor,
    check: impl std::future::Future<Output = Result<bool, StoreError>> + Send,
) -> Result<Verdict, StoreError> {
    let auth = &base.auth;
    let limits = auth.config.environments[base.facts.env_index].regulation;
    let ip = base.facts.ip.as_str();
    let ctx = base.audit(user);
    // In-memory first line: an IP far over its failure budget is refused without store work.
    if auth.ip_failures(ip, false) >= limits.ip.max_failures as isize {
        let until = auth.clock.now() + 60;
        auth.audit
            .record(ctx.event(EventKind::AttemptBlocked { until }))
            .await;
        return Ok(Verdict::Blocked { until });
    }
    let records = &auth.records;
    let verdict = records
        .locked_user(
            user,
            records.locked_ip(ip, async {
                let now = auth.clock.now();
                let user_state = records.attempts("user", user).await?;
                let ip_state = records.attempts("ip", ip).await?;
                let (user_state, ip_state) = match (admit(user_state, now), admit(ip_state, now)) {
                    (Ok(u), Ok(i)) => (u, i),
                    (Err(until), _) | (_, Err(until)) => return Ok(Verdict::Blocked { until }),
                };
                let ok = check.await?;
                let user_next = record(user_state, ok, &limits.user, now);
                records.save_attempts("user", user, &user_next).await?;
                records
                    .save_attempts("ip", ip, &record(ip_state, ok, &limits.ip, now))
                    .await?;
                Ok(if ok {
                    Verdict::Accepted
                } else {
                    Verdict::Rejected {
                        blocked_until: (user_next.blocked_until > 0)
                            .then_some(user_next.blocked_until),
                        left: limits.user.max_failures.saturating_sub(user_next.failures),
                    }
                })
            }),
        )
        .await?;
    match verdict {
        Verdict::Accepted => {}
        Verdict::Rejected { blocked_until, .. } => {
            auth.ip_failures(ip, true);
            auth.audit.record(ctx.mfa_failure(method)).await;
            if let Some(until) = blocked_until {
                auth.audit
                    .record(ctx.event(EventKind::UserBlocked { until }))
                    .await;
                // Mistakes while setting up an authenticator are not a sign that someone
                // else has the password: no alarming email for those.
                if method == Factor::TotpEnroll {
                    return Ok(verdict);
                }
                let env = &auth.config.environments[base.facts.env_index];
                let (voice, until) = (
                    crate::notify::messages::Voice::of(env),
                    env.zone.show(until),
                );
                auth.notify(user, |to| {
                    crate::notify::messages::blocked(to, &voice, &until)
                })
                .await;
            }
        }
        Verdict::Blocked { until } => {
            auth.audit
                .record(ctx.event(EventKind::AttemptBlocked { until }))
                .await;
        }
    }
    Ok(verdict)
}

/// A wrong code's message (catalogue key `error`) with how many tries are left before code
/// entry is paused.
pub fn with_tries_left(w: crate::i18n::Words, error: &str, left: u32) -> String {
    let error = w.get(error);
    match left {
        0 => error,
        n => format!("{error} {}", w.with("tries-left", &[("left", n.into())])),
    }
}

/// The page for a blocked user or client.
pub fn blocked_page(base: &PageBase, until: u64) -> axum::response::Response {
    let until = base.time(until);
    base.message_text(
        http::StatusCode::TOO_MANY_REQUESTS,
        "blocked-title",
        &base.w().with("blocked-text", &[("until", until.into())]),
        None,
    )
}
