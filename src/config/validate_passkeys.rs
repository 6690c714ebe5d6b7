//! Validation of passkeys: `[environments.passkeys]` (the WebAuthn relying party) and
//! `phishing_resistant_roles`.

use super::file::FileEnvironment;
use super::model::Methods;
use super::validate::Errors;

/// `[environments.passkeys]` and `phishing_resistant_roles`, when `methods` offers passkeys.
pub(super) fn passkeys(
    errs: &mut Errors,
    key: &str,
    env: &FileEnvironment,
    methods: Methods,
) -> Option<super::model::PasskeySettings> {
    use crate::mfa::passkey::{RelyingParty, Verification};
    let roles: Vec<crate::domain::Role> = env
        .phishing_resistant_roles
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let k = format!("{key}.phishing_resistant_roles[{i}]");
            super::validate_policy::role(errs, k, name)
        })
        .collect();
    if !methods.passkey {
        if !roles.is_empty() {
            let k = format!("{key}.phishing_resistant_roles");
            errs.push(k, "needs \"passkey\" among the environment's methods");
        }
        return None;
    }
    let k = format!("{key}.passkeys");
    let verification = match env.passkeys.user_verification.as_deref() {
        None | Some("preferred") => Verification::Preferred,
        Some("required") => Verification::Required,
        Some(other) => {
            let msg = format!("{other:?} is not \"preferred\" or \"required\"");
            errs.push(format!("{k}.user_verification"), msg);
            Verification::Preferred
        }
    };
    let rp_id = env
        .passkeys
        .rp_id
        .clone()
        .or_else(|| env.hosts.first().cloned())?;
    let Ok(rp) = RelyingParty::new(&rp_id, verification) else {
        errs.push(
            format!("{k}.rp_id"),
            format!("{rp_id:?} is not a DNS host name"),
        );
        return None;
    };
    if !env.hosts.iter().any(|h| rp.serves(h)) {
        let msg = format!("{rp_id:?} is neither one of the hosts nor a parent domain of one");
        errs.push(format!("{k}.rp_id"), msg);
    }
    // A role only a passkey signs in could not sign in at all on a host without passkeys.
    let unserved = env.hosts.iter().find(|h| !rp.serves(h));
    if let (false, Some(host)) = (roles.is_empty(), unserved) {
        let msg = format!(
            "{rp_id:?} does not cover host {host:?}, where phishing_resistant_roles could not sign in"
        );
        errs.push(format!("{k}.rp_id"), msg);
    }
    Some(super::model::PasskeySettings {
        rp,
        phishing_resistant_roles: roles,
    })
}
