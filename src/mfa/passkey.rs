//! Passkeys and security keys (WebAuthn), on `webauthn_rp`. The ceremonies are pure: starting
//! one returns the options for `navigator.credentials.create/get` and the server state to keep
//! (in the store, so any instance can finish it, once); finishing one takes that state, the
//! browser's JSON answer and the stored credential, and returns what to store now. Nothing here
//! knows about HTTP or the store.
//!
//! The relying party is the environment's host (`passkey_rp_id`); the origin the answer was made
//! on must be the page's own (`https://` + the host the browser used), so a passkey made for one
//! site does not sign in on another, which is what makes the factor phishing-resistant.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use webauthn_rp::bin::{Decode, Encode};
use webauthn_rp::request::auth::{
    AllowedCredentials, AuthenticationVerificationOptions, NonDiscoverableCredentialRequestOptions,
};
use webauthn_rp::request::register::{
    PublicKeyCredentialCreationOptions, PublicKeyCredentialUserEntity,
    RegistrationVerificationOptions, ResidentKeyRequirement, UserHandle64,
};
use webauthn_rp::request::{
    AsciiDomain, Credentials as _, PublicKeyCredentialDescriptor, RpId, UserVerificationRequirement,
};
use webauthn_rp::response::auth::error::AuthCeremonyErr;
use webauthn_rp::response::auth::ser_relaxed::NonDiscoverableAuthenticationRelaxed64;
use webauthn_rp::response::register::ser_relaxed::RegistrationRelaxed;
use webauthn_rp::response::register::{CompressedPubKey, DynamicState, StaticState};

/// A stored public key, decoded (the library's owned form).
type StoredKey = CompressedPubKey<[u8; 32], [u8; 32], [u8; 48], Vec<u8>>;
use webauthn_rp::response::{AuthTransports, Backup, CredentialId};
use webauthn_rp::{
    AuthenticatedCredential, NonDiscoverableAuthenticationServerState, RegistrationServerState,
};

/// The longest name a person may give a passkey ("MacBook Touch ID").
pub const MAX_NAME_CHARS: usize = 60;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasskeyError {
    /// The relying party id is not a domain name (config validation stops this earlier).
    #[error("relying party id {0:?} is not a domain name")]
    RpId(String),
    /// The browser's answer is not a WebAuthn answer to this ceremony.
    #[error("the answer is not a WebAuthn credential: {0}")]
    Malformed(String),
    /// The answer failed verification (signature, origin, challenge, flags, expiry).
    #[error("the passkey was refused: {0}")]
    Refused(String),
    /// The signature counter went back: a possible cloned authenticator.
    #[error("the passkey's signature counter went back (a possible clone)")]
    CounterRegressed,
    /// The kept server state or credential no longer decodes.
    #[error("stored passkey state is unreadable")]
    Corrupt,
}

/// Whether the authenticator must verify its user (PIN, biometrics) or only should.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    Preferred,
    Required,
}

impl Verification {
    fn requirement(self) -> UserVerificationRequirement {
        match self {
            Self::Preferred => UserVerificationRequirement::Preferred,
            Self::Required => UserVerificationRequirement::Required,
        }
    }
}

/// One environment's relying party.
#[derive(Debug, Clone)]
pub struct RelyingParty {
    rp_id: RpId,
    verification: Verification,
}

impl RelyingParty {
    pub fn new(rp_id: &str, verification: Verification) -> Result<Self, PasskeyError> {
        let labels_ok = rp_id
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        if !labels_ok {
            return Err(PasskeyError::RpId(rp_id.into()));
        }
        let domain = AsciiDomain::try_from(rp_id.to_ascii_lowercase())
            .map_err(|_| PasskeyError::RpId(rp_id.into()))?;
        Ok(Self {
            rp_id: RpId::Domain(domain),
            verification,
        })
    }

    /// Whether pages on `host` may use passkeys of this relying party: the host is the RP id or
    /// one of its subdomains (what browsers allow).
    pub fn serves(&self, host: &str) -> bool {
        let rp = self.rp_id.as_ref();
        let host = host.to_ascii_lowercase();
        host == rp || host.strip_suffix(rp).is_some_and(|sub| sub.ends_with('.'))
    }
}

/// A registered passkey as the store keeps it. The public key needs no sealing; the user handle
/// the authenticator holds is a random id, never the email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPasskey {
    /// The credential id, base64url: how the browser names it.
    pub id: String,
    pub name: String,
    #[serde(with = "crate::crypto::bytes")]
    pub static_state: Vec<u8>,
    #[serde(with = "crate::crypto::bytes")]
    pub dynamic_state: Vec<u8>,
    #[serde(with = "crate::crypto::bytes")]
    pub transports: Vec<u8>,
    pub created_at: u64,
    pub last_used: Option<u64>,
    /// The authenticator's signature counter (0 when it keeps none, as synced passkeys do).
    pub sign_count: u32,
    /// Whether the key may be synced to other devices, and whether it is.
    pub backup_eligible: bool,
    pub backed_up: bool,
}

/// A ceremony begun: the options for the browser and the server state to keep until it ends.
#[derive(Debug, Clone)]
pub struct Begun {
    /// `PublicKeyCredentialCreationOptionsJSON` or `PublicKeyCredentialRequestOptionsJSON`.
    pub options: Value,
    /// The encoded server state; opaque, kept under `challenge`.
    pub state: Vec<u8>,
    /// The challenge, base64url: the key the answer finds its state by.
    pub challenge: String,
}

/// A new random user handle (64 bytes) for a user's first passkey.
pub fn new_user_handle() -> Vec<u8> {
    UserHandle64::new().as_ref().to_vec()
}

fn handle(raw: &[u8]) -> Result<UserHandle64, PasskeyError> {
    let bytes: [u8; 64] = raw.try_into().map_err(|_| PasskeyError::Corrupt)?;
    UserHandle64::decode(bytes).map_err(|_| PasskeyError::Corrupt)
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .ok()
}

fn descriptor(p: &StoredPasskey) -> Result<PublicKeyCredentialDescriptor<Vec<u8>>, PasskeyError> {
    let raw = unb64(&p.id).ok_or(PasskeyError::Corrupt)?;
    let id = CredentialId::<Vec<u8>>::decode(raw).map_err(|_| PasskeyError::Corrupt)?;
    let bits = p.transports.first().copied().unwrap_or(0);
    let transports = AuthTransports::decode(bits).map_err(|_| PasskeyError::Corrupt)?;
    Ok(PublicKeyCredentialDescriptor { id, transports })
}

/// Starts registering a passkey for the user with `user_handle`, shown to the authenticator as
/// `user_name`; `existing` are excluded so one authenticator is not registered twice.
pub fn begin_registration(
    rp: &RelyingParty,
    user_handle: &[u8],
    user_name: &str,
    existing: &[StoredPasskey],
) -> Result<Begun, PasskeyError> {
    let id = handle(user_handle)?;
    let name = user_name
        .try_into()
        .map_err(|_| PasskeyError::Malformed("user name".into()))?;
    let user = PublicKeyCredentialUserEntity {
        name,
        id: &id,
        display_name: None,
    };
    let exclude = existing
        .iter()
        .map(descriptor)
        .collect::<Result<Vec<_>, _>>()?;
    let mut options = PublicKeyCredentialCreationOptions::second_factor(&rp.rp_id, user, exclude);
    // A platform passkey or a roaming security key, discoverable or not.
    options.authenticator_selection.resident_key = ResidentKeyRequirement::Preferred;
    options.authenticator_selection.user_verification = rp.verification.requirement();
    let (server, client) = options
        .start_ceremony()
        .map_err(|e| PasskeyError::Malformed(e.to_string()))?;
    begun(server.encode().map_err(|_| PasskeyError::Corrupt)?, &client)
}

/// A started ceremony as the caller keeps it: the browser's options (JSON), the encoded server
/// state, and the challenge it is kept under.
fn begun(state: Vec<u8>, client: &impl Serialize) -> Result<Begun, PasskeyError> {
    let options =
        serde_json::to_value(client).map_err(|e| PasskeyError::Malformed(e.to_string()))?;
    Ok(Begun {
        challenge: challenge_of_options(&options)?,
        options,
        state,
    })
}

fn challenge_of_options(options: &Value) -> Result<String, PasskeyError> {
    options
        .get("challenge")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| PasskeyError::Malformed("options without a challenge".into()))
}

/// The challenge an answer (`RegistrationResponseJSON` or `AuthenticationResponseJSON`) signs:
/// where its ceremony's state is kept. `None` for anything else.
pub fn challenge_of_answer(answer: &Value) -> Option<String> {
    let data = answer.pointer("/response/clientDataJSON")?.as_str()?;
    let json: Value = serde_json::from_slice(&unb64(data)?).ok()?;
    let challenge = json.get("challenge")?.as_str()?;
    // Re-encoded, so padding or another spelling cannot name a second key for one challenge.
    Some(b64(&unb64(challenge)?))
}

fn verification_origins(origin: &str) -> [String; 1] {
    [origin.to_string()]
}

/// Finishes a registration begun with `state`, answered on `origin` (`https://host[:port]`).
pub fn finish_registration(
    rp: &RelyingParty,
    state: &[u8],
    answer: &Value,
    origin: &str,
    name: &str,
    now: u64,
) -> Result<StoredPasskey, PasskeyError> {
    let server = RegistrationServerState::<64>::decode(state).map_err(|_| PasskeyError::Corrupt)?;
    let RegistrationRelaxed(registration) = serde_json::from_value(answer.clone())
        .map_err(|e| PasskeyError::Malformed(e.to_string()))?;
    let origins = verification_origins(origin);
    let options = RegistrationVerificationOptions::<String, String> {
        allowed_origins: &origins,
        ..Default::default()
    };
    let credential = server
        .verify(&rp.rp_id, &registration, &options)
        .map_err(|e| PasskeyError::Refused(e.to_string()))?;
    let dynamic = credential.dynamic_state();
    let static_state = credential
        .static_state()
        .encode()
        .map_err(|_| PasskeyError::Corrupt)?;
    Ok(StoredPasskey {
        id: b64(credential.id().as_ref()),
        name: clean_name(name),
        static_state,
        dynamic_state: dynamic
            .encode()
            .map_err(|_| PasskeyError::Corrupt)?
            .to_vec(),
        transports: vec![credential
            .transports()
            .encode()
            .map_err(|_| PasskeyError::Corrupt)?],
        created_at: now,
        last_used: None,
        sign_count: dynamic.sign_count,
        backup_eligible: !matches!(dynamic.backup, Backup::NotEligible),
        backed_up: matches!(dynamic.backup, Backup::Exists),
    })
}

/// A passkey's name as shown: trimmed, control characters dropped, at most `MAX_NAME_CHARS`;
/// "Passkey" when nothing is left.
pub fn clean_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    match cleaned.trim() {
        "" => "Passkey".into(),
        t => t.to_string(),
    }
}

/// Starts signing in with one of `passkeys` (the user's; there is at least one).
pub fn begin_authentication(
    rp: &RelyingParty,
    passkeys: &[StoredPasskey],
) -> Result<Begun, PasskeyError> {
    let mut allowed = AllowedCredentials::with_capacity(passkeys.len());
    for p in passkeys {
        allowed.push(descriptor(p)?.into());
    }
    let mut request = NonDiscoverableCredentialRequestOptions::second_factor(&rp.rp_id, allowed)
        .map_err(|_| PasskeyError::Malformed("no passkey to sign in with".into()))?;
    request.options().user_verification = rp.verification.requirement();
    let (server, client) = request
        .start_ceremony()
        .map_err(|e| PasskeyError::Malformed(e.to_string()))?;
    begun(server.encode().map_err(|_| PasskeyError::Corrupt)?, &client)
}

/// The credential id an authentication answer names (base64url, as stored), if any.
pub fn credential_of_answer(answer: &Value) -> Option<String> {
    let raw = answer.get("rawId").or_else(|| answer.get("id"))?.as_str()?;
    Some(b64(&unb64(raw)?))
}

/// Finishes a sign-in begun with `state`, answered on `origin` with `passkey` (the user's
/// passkey the answer names; the user's handle is `user_handle`). Returns the passkey with its
/// counter, flags and last use updated.
pub fn finish_authentication(
    rp: &RelyingParty,
    state: &[u8],
    answer: &Value,
    origin: &str,
    (user_handle, passkey): (&[u8], &StoredPasskey),
    now: u64,
) -> Result<StoredPasskey, PasskeyError> {
    let server = NonDiscoverableAuthenticationServerState::decode(state)
        .map_err(|_| PasskeyError::Corrupt)?;
    let authentication =
        serde_json::from_value::<NonDiscoverableAuthenticationRelaxed64>(answer.clone())
            .map_err(|e| PasskeyError::Malformed(e.to_string()))?
            .0;
    let user = handle(user_handle)?;
    let raw_id = unb64(&passkey.id).ok_or(PasskeyError::Corrupt)?;
    let id = CredentialId::<&[u8]>::decode(raw_id.as_slice()).map_err(|_| PasskeyError::Corrupt)?;
    let static_state = StaticState::<StoredKey>::decode(passkey.static_state.as_slice())
        .map_err(|_| PasskeyError::Corrupt)?;
    let dynamic_bytes: [u8; 7] = passkey
        .dynamic_state
        .as_slice()
        .try_into()
        .map_err(|_| PasskeyError::Corrupt)?;
    let dynamic = DynamicState::decode(dynamic_bytes).map_err(|_| PasskeyError::Corrupt)?;
    let mut credential = AuthenticatedCredential::new(id, &user, static_state, dynamic)
        .map_err(|_| PasskeyError::Corrupt)?;
    let origins = verification_origins(origin);
    let options = AuthenticationVerificationOptions::<String, String> {
        allowed_origins: &origins,
        // The library's rule: the backup state may change (a passkey synced later), its
        // eligibility may not (the spec fixes it for a credential's life).
        backup_requirement: None,
        ..Default::default()
    };
    server
        .verify(&rp.rp_id, &authentication, &mut credential, &options)
        .map_err(|e| match e {
            AuthCeremonyErr::SignatureCounter => PasskeyError::CounterRegressed,
            other => PasskeyError::Refused(other.to_string()),
        })?;
    let dynamic = credential.dynamic_state();
    Ok(StoredPasskey {
        dynamic_state: dynamic
            .encode()
            .map_err(|_| PasskeyError::Corrupt)?
            .to_vec(),
        sign_count: dynamic.sign_count,
        backed_up: matches!(dynamic.backup, Backup::Exists),
        last_used: Some(now),
        ..passkey.clone()
    })
}

#[cfg(test)]
#[path = "soft_authenticator.rs"]
mod soft_authenticator;

#[cfg(test)]
mod tests {
    use super::soft_authenticator::SoftKey;
    use super::*;

    const ORIGIN: &str = "https://app.example.test:8443";

    fn rp() -> RelyingParty {
        RelyingParty::new("app.example.test", Verification::Preferred).unwrap()
    }

    fn registered() -> (SoftKey, StoredPasskey, Vec<u8>) {
        let handle = new_user_handle();
        let begun = begin_registration(&rp(), &handle, "ana@example.test", &[]).unwrap();
        let (key, answer) = SoftKey::register(&begun.options, ORIGIN);
        assert_eq!(challenge_of_answer(&answer), Some(begun.challenge.clone()));
        let stored =
            finish_registration(&rp(), &begun.state, &answer, ORIGIN, " MacBook\u{7} ", 100)
                .unwrap();
        (key, stored, handle)
    }

    /// Begins a sign-in with `stored` and lets `key` answer it on `origin`, as user `handle`.
    fn sign_in(
        key: &mut SoftKey,
        (stored, handle): (&StoredPasskey, &[u8]),
        origin: &str,
    ) -> Result<StoredPasskey, PasskeyError> {
        let begun = begin_authentication(&rp(), std::slice::from_ref(stored)).unwrap();
        let answer = key.sign_in(&begun.options, origin);
        finish_authentication(&rp(), &begun.state, &answer, ORIGIN, (handle, stored), 200)
    }

    fn assert_refused<T: std::fmt::Debug>(result: Result<T, PasskeyError>) {
        assert!(
            matches!(result, Err(PasskeyError::Refused(_))),
            "{result:?}"
        );
    }

    #[test]
    fn a_registered_passkey_signs_in_and_its_counter_moves_on() {
        let (mut key, stored, handle) = registered();
        assert_eq!(stored.name, "MacBook");
        let named = serde_json::json!({ "rawId": b64(&key.id) });
        assert_eq!(Some(stored.id.clone()), credential_of_answer(&named));
        let begun = begin_authentication(&rp(), std::slice::from_ref(&stored)).unwrap();
        let allowed = begun.options["allowCredentials"][0]["id"].as_str();
        assert_eq!(allowed, Some(stored.id.as_str()));
        let used = sign_in(&mut key, (&stored, &handle), ORIGIN).unwrap();
        assert_eq!((used.sign_count, used.last_used), (2, Some(200)));
    }

    /// The answer must come from the page's own origin: a phishing site's origin fails even
    /// with a genuine signature.
    #[test]
    fn an_answer_made_on_another_origin_is_refused() {
        let handle = new_user_handle();
        let begun = begin_registration(&rp(), &handle, "ana@example.test", &[]).unwrap();
        let (_, answer) = SoftKey::register(&begun.options, "https://app.example.test.evil.test");
        assert_refused(finish_registration(
            &rp(),
            &begun.state,
            &answer,
            ORIGIN,
            "x",
            1,
        ));
        let (mut key, stored, handle) = registered();
        let other = "https://other.example.test:8443";
        assert_refused(sign_in(&mut key, (&stored, &handle), other));
    }

    /// A state answers only its own challenge: an answer to another ceremony fails.
    #[test]
    fn an_answer_to_another_challenge_is_refused() {
        let (mut key, stored, handle) = registered();
        let first = begin_authentication(&rp(), std::slice::from_ref(&stored)).unwrap();
        let second = begin_authentication(&rp(), std::slice::from_ref(&stored)).unwrap();
        assert_ne!(first.challenge, second.challenge);
        let answer = key.sign_in(&first.options, ORIGIN);
        let stored_of = (handle.as_slice(), &stored);
        assert_refused(finish_authentication(
            &rp(),
            &second.state,
            &answer,
            ORIGIN,
            stored_of,
            2,
        ));
    }

    /// A counter that does not move forward is a possible clone: refused, distinctly.
    #[test]
    fn a_counter_that_goes_back_is_a_possible_clone() {
        let (mut key, stored, handle) = registered();
        let used = sign_in(&mut key, (&stored, &handle), ORIGIN).unwrap();
        let begun = begin_authentication(&rp(), std::slice::from_ref(&used)).unwrap();
        let cloned = key.assert_with(&begun.options, ORIGIN, 1);
        let refused =
            finish_authentication(&rp(), &begun.state, &cloned, ORIGIN, (&handle, &used), 3);
        assert_eq!(refused, Err(PasskeyError::CounterRegressed));
    }

    /// Another user's handle (a passkey of someone else) is refused.
    #[test]
    fn the_answer_must_be_for_this_user() {
        let (mut key, stored, _) = registered();
        let other = new_user_handle();
        assert!(sign_in(&mut key, (&stored, &other), ORIGIN).is_err());
    }

    #[test]
    fn pages_use_passkeys_on_the_rp_id_and_its_subdomains_only() {
        let rp = rp();
        assert!(rp.serves("app.example.test"));
        assert!(rp.serves("eu.app.example.test"));
        assert!(!rp.serves("evilapp.example.test"));
        assert!(!rp.serves("example.test"));
        assert!(RelyingParty::new("not a domain", Verification::Required).is_err());
    }
}
