//! Factor checks against the store, shared by the sign-in pages and the account pages: each
//! runs the pure verifier, then claims the single-use marker so no instance accepts it twice.

use crate::audit::{Context, EventKind};
use crate::identity::auth::Auth;
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
