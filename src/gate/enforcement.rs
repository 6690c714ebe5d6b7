//! Carries out enforcement with grace (DESIGN.md "Enforcement with grace"): records when
//! `required` took effect (in the store, so restarts do not move it), tells users without a
//! factor once, and when the grace period ends logs out, on every device, each session that
//! never passed a second factor, through the one `end_session` path (store revocation to every
//! instance, live connections closed, the dashboard's logout, audit). The sweep runs on a
//! timer, so a session with nothing but an idle WebSocket is cut too.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::auth::Auth;
use super::lifecycle::{EndReason, Ending};
use crate::notify::messages::Voice;
use crate::policy::enforcement::{grace_over, in_scope, must_end};
use crate::policy::MfaMode;
use crate::store::StoreResult;

/// How often the sweep checks the clock.
const TICK: Duration = Duration::from_millis(250);

/// Records (or reads back) `enforced_since` for every environment requiring MFA and publishes
/// it to the policies; forgets it for the others.
pub async fn record(auth: &Auth) -> StoreResult<()> {
    let now = auth.clock.now_ms();
    let mut policies = (*auth.policies()).clone();
    for env in &auth.config.environments {
        if env.policy.mode == MfaMode::Required {
            let since = auth.records.enforcement_since(&env.name, now).await?;
            policies.enforced_since.insert(env.name.clone(), since);
        } else {
            auth.records.clear_enforcement(&env.name).await?;
        }
    }
    *auth.policies.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(policies);
    announce(auth).await
}

/// Who a user is for enforcement: their profile from their last sign-in, else the directory.
pub(super) async fn who(
    auth: &Auth,
    user: &str,
) -> StoreResult<(crate::domain::Role, Vec<String>)> {
    Ok(match auth.records.profile(user).await? {
        Some(w) => (w.role, w.envs),
        None => {
            let e = auth.config.directory.lookup(user, "");
            (e.role, e.environments)
        }
    })
}

/// Candidates for enforcement: users listed in config and users who ever signed in.
pub(super) async fn users(auth: &Auth) -> StoreResult<Vec<String>> {
    let mut all: HashSet<String> = auth.config.directory.users.keys().cloned().collect();
    all.extend(auth.records.known_users().await?);
    Ok(all.into_iter().collect())
}

/// Emails each in-scope user without a factor once per enforcement.
async fn announce(auth: &Auth) -> StoreResult<()> {
    if auth.mailer.is_none() {
        return Ok(());
    }
    let policies = auth.policies();
    for (index, env) in auth.config.environments.iter().enumerate() {
        let Some(since) = policies.enforced_since.get(&env.name).copied() else {
            continue;
        };
        let deadline = env.zone.show(since.div_ceil(1000) + env.policy.grace_secs);
        for user in users(auth).await? {
            let (role, envs) = who(auth, &user).await?;
            if !in_scope(&policies, index, role, &envs) || auth.records.has_factor(&user).await? {
                continue;
            }
            if auth
                .records
                .claim_enforcement_notice(&env.name, since, &user)
                .await?
            {
                // What the user will be asked for is what their role may use here.
                let methods = env.methods_for(role);
                let (app, email) = (methods.totp, methods.email);
                auth.notify(&user, |to| {
                    let voice = Voice::of(env);
                    crate::notify::messages::enforcement_notice(to, &voice, &deadline, app, email)
                })
                .await;
            }
        }
    }
    Ok(())
}

/// Whether an environment requiring MFA has no recorded enforcement time yet.
fn unrecorded(auth: &Auth) -> bool {
    let policies = auth.policies();
    auth.config.environments.iter().any(|env| {
        env.policy.mode == MfaMode::Required && !policies.enforced_since.contains_key(&env.name)
    })
}

/// The sweep loop; runs for the life of the gateway on the control runtime. Each tick works
/// on the `current` core, so a reloaded config's environments and grace periods count from
/// the next tick on.
pub async fn run(current: impl Fn() -> Option<Arc<Auth>>) {
    let mut swept: HashSet<(String, u64)> = HashSet::new();
    loop {
        tokio::time::sleep(TICK).await;
        let Some(auth) = current() else {
            continue;
        };
        if unrecorded(&auth) {
            // Start-up could not reach the store; until this succeeds, enforcement is strict.
            if let Err(e) = record(&auth).await {
                tracing::warn!(error = %e, "enforcement times not recorded yet; retrying");
                continue;
            }
        }
        let policies = auth.policies();
        let now = auth.clock.now_ms();
        for (index, env) in auth.config.environments.iter().enumerate() {
            let Some(since) = policies.enforced_since.get(&env.name).copied() else {
                continue;
            };
            if !grace_over(since, env.policy.grace_secs, now)
                || swept.contains(&(env.name.clone(), since))
            {
                continue;
            }
            match sweep(&auth, index, since).await {
                Ok(ended) => {
                    tracing::info!(environment = %env.name, ended, "enforcement grace period over; sessions without MFA ended");
                    swept.insert((env.name.clone(), since));
                }
                Err(e) => {
                    tracing::error!(environment = %env.name, error = %e, "enforcement sweep failed; retrying")
                }
            }
        }
    }
}

/// Ends every session that must end for the enforcement of environment `index`.
async fn sweep(auth: &Auth, index: usize, since: u64) -> StoreResult<usize> {
    let policies = auth.policies();
    let env = &auth.config.environments[index];
    let mut ended = 0;
    for user in users(auth).await? {
        let (role, envs) = who(auth, &user).await?;
        if !in_scope(&policies, index, role, &envs) {
            tracing::debug!(%user, ?role, ?envs, "not in scope of enforcement");
            continue;
        }
        for session in auth.records.sessions(&user).await? {
            let created_ms = session.created_ms();
            if !must_end(session.auth, created_ms, session.mfa_at, since) {
                tracing::debug!(%user, created_ms, since, mfa_at = ?session.mfa_at, "session kept");
                continue;
            }
            let ending = Ending {
                user: &user,
                sid: &session.id,
                jar: None,
                authority: None,
            };
            let ctx = auth
                .background_context(&env.name)
                .with_user(&user)
                .with_device(&session.device_id);
            auth.end_session(ending, EndReason::GraceEnded, ctx).await?;
            ended += 1;
        }
    }
    Ok(ended)
}
