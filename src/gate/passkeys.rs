//! Passkey ceremonies against the store (DESIGN.md "Second factors", passkeys): a ceremony is
//! begun for one holder (a pending login or a signed-in session), kept under its challenge no
//! longer than the holder lives, and finished once, by that holder only, on the page's own
//! origin. Registrations are unique per credential; a sign-in updates the counter, and a
//! counter that goes back is refused and audited as a possible clone.

use std::time::Duration;

use serde_json::Value;

use super::auth::Auth;
use crate::audit::{Context, EventKind};
use crate::mfa::passkey::{self, Begun, PasskeyError, RelyingParty, StoredPasskey};
use crate::store::records::{CeremonyPurpose, PasskeyCeremony};
use crate::store::StoreResult;

/// The longest a ceremony waits for its answer (what the options tell the browser, too).
pub const CEREMONY_TTL: Duration = Duration::from_secs(300);

/// Who a ceremony is for.
#[derive(Debug, Clone, Copy)]
pub struct Holder<'a> {
    pub env_index: usize,
    /// The pending login's or the session's id.
    pub bound_to: &'a str,
    pub user: &'a str,
    /// The user's role: passkeys must be among its methods.
    pub role: crate::domain::Role,
    /// When the holder ends (Unix seconds): its ceremonies end with it.
    pub ends_at: u64,
    /// The authority the browser used (`host[:port]`): the origin answers must come from.
    pub authority: &'a str,
}

impl Holder<'_> {
    fn origin(&self) -> String {
        format!("https://{}", self.authority)
    }
}

/// The host of `authority` (`host[:port]`), lower-cased; empty when it is not an authority.
fn host_of(authority: &str) -> String {
    authority
        .parse::<http::uri::Authority>()
        .map(|a| a.host().trim_end_matches('.').to_ascii_lowercase())
        .unwrap_or_default()
}

/// Why a passkey answer was not accepted (the person is told only that it did not work).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No ceremony under the answer's challenge: expired, answered already, or never begun.
    NoCeremony,
    /// The ceremony belongs to another pending login, session, user or purpose.
    NotYours,
    /// The answer failed verification, or names no passkey of this user.
    Invalid(String),
    /// The signature counter went back: a possible cloned key.
    CounterRegressed,
    /// This authenticator is registered already.
    AlreadyRegistered,
}

/// How long a ceremony begun `now` for a holder that ends at `ends_at` may wait: never past
/// its holder, at most `CEREMONY_TTL`; `None` when the holder has ended.
pub fn ceremony_ttl(ends_at: u64, now: u64) -> Option<Duration> {
    let left = Duration::from_secs(ends_at.saturating_sub(now)).min(CEREMONY_TTL);
    (!left.is_zero()).then_some(left)
}

/// Whether `ceremony` is `holder`'s, for `purpose`, in environment `env`: one begun for another
/// pending login, session, user, purpose or environment is not answered here.
pub fn held_by(
    ceremony: &PasskeyCeremony,
    holder: &Holder<'_>,
    purpose: CeremonyPurpose,
    env: &str,
) -> bool {
    ceremony.purpose == purpose
        && ceremony.bound_to == holder.bound_to
        && ceremony.user == holder.user
        && ceremony.environment == env
}

impl Auth {
    /// The relying party a user of `role` uses on pages at `authority`, when the environment
    /// offers that role passkeys there.
    pub fn relying_party(
        &self,
        env_index: usize,
        role: crate::domain::Role,
        authority: &str,
    ) -> Option<&RelyingParty> {
        let env = &self.config.environments[env_index];
        let settings = env
            .passkeys
            .as_ref()
            .filter(|_| env.methods_for(role).passkey)?;
        settings
            .rp
            .serves(&host_of(authority))
            .then_some(&settings.rp)
    }

    /// Whether a user of `role` may use passkeys on pages at `authority`.
    pub fn offers_passkeys(
        &self,
        env_index: usize,
        role: crate::domain::Role,
        authority: &str,
    ) -> bool {
        self.relying_party(env_index, role, authority).is_some()
    }

    /// Begins a ceremony for `holder`; `None` where passkeys are not offered, or for a sign-in
    /// by a user without one.
    pub async fn begin_passkey(
        &self,
        holder: Holder<'_>,
        purpose: CeremonyPurpose,
    ) -> StoreResult<Option<Begun>> {
        let Some(rp) = self.relying_party(holder.env_index, holder.role, holder.authority) else {
            return Ok(None);
        };
        let passkeys = self.records.passkeys(holder.user).await?;
        let begun = match purpose {
            CeremonyPurpose::Register => {
                let fresh = passkey::new_user_handle();
                let handle = self.records.passkey_handle(holder.user, &fresh).await?;
                passkey::begin_registration(rp, &handle, holder.user, &passkeys)
            }
            _ if passkeys.is_empty() => return Ok(None),
            _ => passkey::begin_authentication(rp, &passkeys),
        };
        let begun = match begun {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "a passkey ceremony could not begin");
                return Ok(None);
            }
        };
        let Some(ttl) = ceremony_ttl(holder.ends_at, self.clock.now()) else {
            return Ok(None);
        };
        let ceremony = PasskeyCeremony {
            purpose,
            bound_to: holder.bound_to.to_string(),
            user: holder.user.to_string(),
            environment: self.config.environments[holder.env_index].name.clone(),
            state: begun.state.clone(),
        };
        self.records
            .begin_ceremony(&begun.challenge, &ceremony, ttl)
            .await?;
        Ok(Some(begun))
    }

    /// The ceremony `answer` belongs to, taken (once), if it is `holder`'s for `purpose`. It is
    /// looked at first and taken only when it is theirs: a foreign answer carrying someone
    /// else's challenge is refused without using that person's ceremony up.
    async fn take_ceremony(
        &self,
        holder: Holder<'_>,
        purpose: CeremonyPurpose,
        answer: &Value,
    ) -> StoreResult<Result<(PasskeyCeremony, &RelyingParty), Refusal>> {
        let Some(rp) = self.relying_party(holder.env_index, holder.role, holder.authority) else {
            return Ok(Err(Refusal::NotYours));
        };
        let Some(challenge) = passkey::challenge_of_answer(answer) else {
            return Ok(Err(Refusal::Invalid("no challenge".into())));
        };
        let env = &self.config.environments[holder.env_index].name;
        match self.records.ceremony(&challenge).await? {
            None => return Ok(Err(Refusal::NoCeremony)),
            Some(seen) if !held_by(&seen, &holder, purpose, env) => {
                return Ok(Err(Refusal::NotYours))
            }
            Some(_) => {}
        }
        // Taken: of parallel answers, one gets it.
        Ok(match self.records.take_ceremony(&challenge).await? {
            Some(ceremony) if held_by(&ceremony, &holder, purpose, env) => Ok((ceremony, rp)),
            Some(_) => Err(Refusal::NotYours),
            None => Err(Refusal::NoCeremony),
        })
    }

    /// Finishes a registration: the new passkey, named `name`, joins the user's.
    pub async fn finish_passkey_registration(
        &self,
        holder: Holder<'_>,
        answer: &Value,
        name: &str,
        ctx: &Context,
    ) -> StoreResult<Result<StoredPasskey, Refusal>> {
        let purpose = CeremonyPurpose::Register;
        let (ceremony, rp) = match self.take_ceremony(holder, purpose, answer).await? {
            Ok(found) => found,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let now = self.clock.now();
        let origin = holder.origin();
        let made = passkey::finish_registration(rp, &ceremony.state, answer, &origin, name, now);
        let new = match made {
            Ok(new) => new,
            Err(e) => return Ok(Err(Refusal::Invalid(e.to_string()))),
        };
        let records = &self.records;
        let added = records.locked_passkeys(holder.user, async {
            if !records.claim_passkey_id(holder.user, &new.id).await? {
                return Ok(false);
            }
            let mut all = records.passkeys(holder.user).await?;
            all.push(new.clone());
            records.save_passkeys(holder.user, &all).await?;
            Ok(true)
        });
        if !added.await? {
            return Ok(Err(Refusal::AlreadyRegistered));
        }
        let event = EventKind::PasskeyRegistered {
            name: new.name.clone(),
        };
        self.audit.record(ctx.event(event)).await;
        Ok(Ok(new))
    }

    /// Finishes a sign-in or step-up: the passkey used, with its counter and last use saved.
    pub async fn finish_passkey(
        &self,
        holder: Holder<'_>,
        purpose: CeremonyPurpose,
        answer: &Value,
        ctx: &Context,
    ) -> StoreResult<Result<StoredPasskey, Refusal>> {
        let (ceremony, rp) = match self.take_ceremony(holder, purpose, answer).await? {
            Ok(found) => found,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let named = passkey::credential_of_answer(answer);
        let records = &self.records;
        let Some(handle) = records.existing_passkey_handle(holder.user).await? else {
            return Ok(Err(Refusal::Invalid(
                "the user has no passkey handle".into(),
            )));
        };
        let origin = holder.origin();
        let now = self.clock.now();
        let checked = records.locked_passkeys(holder.user, async {
            let mut all = records.passkeys(holder.user).await?;
            let Some(slot) = all.iter_mut().find(|p| Some(&p.id) == named.as_ref()) else {
                return Ok(Err((
                    Refusal::Invalid("not a passkey of this user".into()),
                    None,
                )));
            };
            let used = passkey::finish_authentication(
                rp,
                &ceremony.state,
                answer,
                &origin,
                (&handle, slot),
                now,
            );
            match used {
                Ok(used) => {
                    *slot = used.clone();
                    records.save_passkeys(holder.user, &all).await?;
                    Ok(Ok(used))
                }
                Err(PasskeyError::CounterRegressed) => {
                    Ok(Err((Refusal::CounterRegressed, Some(slot.name.clone()))))
                }
                Err(e) => Ok(Err((Refusal::Invalid(e.to_string()), None))),
            }
        });
        Ok(match checked.await? {
            Ok(used) => {
                let event = EventKind::PasskeyUsed {
                    name: used.name.clone(),
                };
                self.audit.record(ctx.event(event)).await;
                Ok(used)
            }
            Err((Refusal::CounterRegressed, Some(name))) => {
                let event = EventKind::PasskeyCounterRegressed { name };
                self.audit.record(ctx.event(event)).await;
                Err(Refusal::CounterRegressed)
            }
            Err((refusal, _)) => Err(refusal),
        })
    }

    /// Removes the user's passkey `id`, unless it is the last second factor the user must
    /// keep: the last passkey of a role only a passkey signs in, or the last factor at all of
    /// a user MFA is required of (a password alone would then set up a new one).
    pub async fn remove_passkey(
        &self,
        (user, role, env_index): (&str, crate::domain::Role, usize),
        id: &str,
        ctx: &Context,
    ) -> StoreResult<Removal> {
        let methods = self.config.environments[env_index].methods_for(role);
        let records = &self.records;
        let removed = records.locked_passkeys(user, async {
            let mut all = records.passkeys(user).await?;
            let Some(at) = all.iter().position(|p| p.id == id) else {
                return Ok(Err(Removal::NotFound));
            };
            if all.len() == 1 {
                let has_totp = records.totp(user).await?.is_some();
                let required = !self.may_turn_off(user, env_index).await?;
                if methods.phishing_resistant || (required && !has_totp) {
                    return Ok(Err(Removal::LastFactor));
                }
            }
            let gone = all.remove(at);
            records.save_passkeys(user, &all).await?;
            records.release_passkey_id(id).await?;
            Ok(Ok(gone))
        });
        let gone = match removed.await? {
            Ok(gone) => gone,
            Err(refused) => return Ok(refused),
        };
        let event = EventKind::PasskeyRemoved { name: gone.name };
        self.audit.record(ctx.event(event)).await;
        Ok(Removal::Removed)
    }
}

/// What became of a passkey's removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    NotFound,
    /// The user must keep it (see `remove_passkey`).
    LastFactor,
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::crypto::secret_box::KeyRing;
    use crate::store::records::Records;
    use crate::store::EmbeddedStore;

    fn holder<'a>(bound_to: &'a str, user: &'a str) -> Holder<'a> {
        Holder {
            env_index: 0,
            bound_to,
            user,
            role: crate::domain::Role::Agent,
            ends_at: 1_000,
            authority: "app.example.test",
        }
    }

    fn ceremony(purpose: CeremonyPurpose) -> PasskeyCeremony {
        PasskeyCeremony {
            purpose,
            bound_to: "pending-1".into(),
            user: "ana@example.test".into(),
            environment: "prod".into(),
            state: vec![1, 2, 3],
        }
    }

    /// A ceremony is answered only by the pending login (or session) it was begun for, for
    /// its purpose, in its environment.
    #[test]
    fn a_ceremony_belongs_to_its_pending_login() {
        let c = ceremony(CeremonyPurpose::SignIn);
        let ana = holder("pending-1", "ana@example.test");
        assert!(held_by(&c, &ana, CeremonyPurpose::SignIn, "prod"));
        let other_login = holder("pending-2", "ana@example.test");
        assert!(!held_by(&c, &other_login, CeremonyPurpose::SignIn, "prod"));
        let other_user = holder("pending-1", "bo@example.test");
        assert!(!held_by(&c, &other_user, CeremonyPurpose::SignIn, "prod"));
        assert!(!held_by(&c, &ana, CeremonyPurpose::StepUp, "prod"));
        assert!(!held_by(&c, &ana, CeremonyPurpose::SignIn, "staging"));
    }

    /// A ceremony expires with its pending login, and never waits longer than five minutes.
    #[test]
    fn a_ceremony_ends_with_its_holder() {
        assert_eq!(ceremony_ttl(1_000, 100), Some(CEREMONY_TTL));
        assert_eq!(ceremony_ttl(1_000, 940), Some(Duration::from_secs(60)));
        assert_eq!(ceremony_ttl(1_000, 1_000), None);
        assert_eq!(ceremony_ttl(1_000, 5_000), None);
    }

    /// The challenge is single use: the ceremony it names is taken once, and a stored one
    /// lives no longer than its TTL.
    #[tokio::test]
    async fn a_challenge_is_answered_once_and_expires() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        let records = Records::new(store, Arc::new(KeyRing::new(&[vec![7; 32]])));
        let c = ceremony(CeremonyPurpose::Register);
        let ttl = Duration::from_millis(300);
        records
            .begin_ceremony("challenge-a", &c, ttl)
            .await
            .unwrap();
        assert_eq!(
            records.take_ceremony("challenge-a").await.unwrap(),
            Some(c.clone())
        );
        assert_eq!(records.take_ceremony("challenge-a").await.unwrap(), None);
        records
            .begin_ceremony("challenge-b", &c, ttl)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        assert_eq!(records.take_ceremony("challenge-b").await.unwrap(), None);
    }
}
