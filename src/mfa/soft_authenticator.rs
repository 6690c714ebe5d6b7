//! A software authenticator for tests: a P-256 key that answers WebAuthn options as a browser
//! with a platform authenticator would, with "none" attestation (what passkeys send). It
//! signs real signatures over real authenticator data, so the relying party's verification
//! runs in full; it can also lie (another origin, a counter that goes back) to show refusals.
//! Shared by the unit tests and the integration tests (which include this file by path).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{DerSignature, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

/// One credential on the authenticator, made by `register`.
pub struct SoftKey {
    key: SigningKey,
    pub id: Vec<u8>,
    rp_id: String,
    user_handle: String,
    /// The next signature counter; `None` for a key that keeps no counter (as synced passkeys).
    pub counter: Option<u32>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn cbor_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    match bytes.len() {
        n if n < 24 => out.push(0x40 | n as u8),
        n if n < 256 => out.extend([0x58, n as u8]),
        n => out.extend([0x59, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(bytes);
}

fn cbor_text(out: &mut Vec<u8>, text: &str) {
    out.push(0x60 | text.len() as u8);
    out.extend_from_slice(text.as_bytes());
}

fn client_data(kind: &str, options: &Value, origin: &str) -> Vec<u8> {
    let challenge = options["challenge"]
        .as_str()
        .expect("options carry a challenge");
    format!(
        r#"{{"type":"{kind}","challenge":"{challenge}","origin":"{origin}","crossOrigin":false}}"#
    )
    .into_bytes()
}

impl SoftKey {
    /// Answers `PublicKeyCredentialCreationOptionsJSON` on `origin`: a new key for the
    /// options' relying party and user, returned as `RegistrationResponseJSON`.
    pub fn register(options: &Value, origin: &str) -> (Self, Value) {
        let rp_id = options["rp"]["id"].as_str().expect("rp.id").to_string();
        let user_handle = options["user"]["id"].as_str().expect("user.id").to_string();
        let key = loop {
            // A random scalar; the rare value outside the curve's order is drawn again.
            if let Ok(key) = SigningKey::from_slice(&rand::random::<[u8; 32]>()) {
                break key;
            }
        };
        let mut id = vec![0u8; 16];
        id.copy_from_slice(&Sha256::digest(key.verifying_key().to_sec1_bytes())[..16]);
        let soft = Self {
            key,
            id,
            rp_id,
            user_handle,
            counter: Some(1),
        };
        let answer = soft.attest(options, origin);
        (soft, answer)
    }

    fn auth_data(&self, flags: u8, counter: u32) -> Vec<u8> {
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend(counter.to_be_bytes());
        data
    }

    fn attest(&self, options: &Value, origin: &str) -> Value {
        let point = self.key.verifying_key().to_encoded_point(false);
        let mut cose = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        cbor_bytes(&mut cose, point.x().expect("x"));
        cose.push(0x22);
        cbor_bytes(&mut cose, point.y().expect("y"));
        // User present and verified, attested credential data included.
        let mut auth_data = self.auth_data(0x45, 0);
        auth_data.extend([0u8; 16]);
        auth_data.extend((self.id.len() as u16).to_be_bytes());
        auth_data.extend(&self.id);
        auth_data.extend(cose);
        let mut object = vec![0xa3];
        cbor_text(&mut object, "fmt");
        cbor_text(&mut object, "none");
        cbor_text(&mut object, "attStmt");
        object.push(0xa0);
        cbor_text(&mut object, "authData");
        cbor_bytes(&mut object, &auth_data);
        json!({
            "id": b64(&self.id),
            "rawId": b64(&self.id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client_data("webauthn.create", options, origin)),
                "attestationObject": b64(&object),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        })
    }

    /// Answers `PublicKeyCredentialRequestOptionsJSON` on `origin` as
    /// `AuthenticationResponseJSON`, counting the signature counter up.
    pub fn sign_in(&mut self, options: &Value, origin: &str) -> Value {
        let counter = match &mut self.counter {
            Some(c) => {
                *c += 1;
                *c
            }
            None => 0,
        };
        self.assert_with(options, origin, counter)
    }

    /// An assertion with a chosen signature counter.
    pub fn assert_with(&self, options: &Value, origin: &str, counter: u32) -> Value {
        let data = client_data("webauthn.get", options, origin);
        let auth_data = self.auth_data(0x05, counter);
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&data));
        let signature: DerSignature = self.key.sign(&signed);
        json!({
            "id": b64(&self.id),
            "rawId": b64(&self.id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&data),
                "authenticatorData": b64(&auth_data),
                "signature": b64(signature.as_bytes()),
                "userHandle": self.user_handle,
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        })
    }
}
