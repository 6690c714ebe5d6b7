//! Trusted SSO: a valid signed JWT skips the second factor, every forged or broken one is
//! refused (and the request is anonymous), a plain identity header counts only from trusted
//! proxies; and the gateway's own identity assertion verifies against its JWKS.

use std::net::IpAddr;

use crate::support::mfa::{config_head, environment, location, set_cookies};
use crate::support::{start_gateway, stop, upstream, Pki};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};

struct Issuer {
    key: EncodingKey,
    public_pem: String,
}

impl Issuer {
    fn new(pki: &Pki) -> Self {
        let pair = rcgen::KeyPair::generate().unwrap();
        let key = EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap();
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
        jwk.common.key_id = Some("sso-1".into());
        std::fs::write(
            pki.path("sso-jwks.json"),
            serde_json::to_string(&JwkSet { keys: vec![jwk] }).unwrap(),
        )
        .unwrap();
        Self {
            key,
            public_pem: pair.public_key_pem(),
        }
    }

    fn token(&self, claims: serde_json::Value, kid: &str) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.into());
        encode(&header, &claims, &self.key).unwrap()
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(email: &str) -> serde_json::Value {
    serde_json::json!({
        "email": email, "iss": "https://sso.test", "aud": "chat-gateway",
        "exp": now() + 300, "iat": now(), "amr": ["pwd", "mfa"],
    })
}

const SSO: &str = r#"[environments.sso]
jwt_header = "Cf-Access-Jwt-Assertion"
jwks_file = "sso-jwks.json"
algorithms = ["ES256"]
issuer = "https://sso.test"
audience = "chat-gateway"
required_amr = ["mfa"]
role_claim = "role"
environments_claim = "envs"
trusted_header = "X-Forwarded-Email"
trusted_proxies = ["127.0.0.1/32"]
"#;

fn start(pki: &Pki, echo: std::net::SocketAddr) -> mfagate::proxy::RunningGateway {
    let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
    std::fs::write(
        pki.path("assert.pem"),
        rcgen::KeyPair::generate().unwrap().serialize_pem(),
    )
    .unwrap();
    let mut toml = config_head(
        pki,
        "[assertion]\nkey = \"assert.pem\"\nalgorithm = \"ES256\"\n",
    );
    // The SSO table follows each environment's login table.
    toml.push_str(&environment(
        pki,
        dashboard,
        "alpha.test",
        "required",
        "",
        SSO,
    ));
    toml.push_str(&environment(pki, echo, "echo.test", "required", "", SSO));
    start_gateway(pki, &toml)
}

fn client(pki: &Pki, gw: &mfagate::proxy::RunningGateway, from: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(pki.client_tls(&[b"http/1.1"]))
        .redirect(reqwest::redirect::Policy::none())
        .resolve("alpha.test", gw.https_addr)
        .resolve("echo.test", gw.https_addr)
        .local_address(from)
        .build()
        .unwrap()
}

async fn login(
    gw: &mfagate::proxy::RunningGateway,
    c: &reqwest::Client,
    header: Option<(&str, &str)>,
) -> reqwest::Response {
    let mut req = c
        .post(format!("https://alpha.test:{}/login", gw.https_addr.port()))
        .form(&[("email", "agent1@demo.test"), ("password", "agent1-pass")]);
    if let Some((name, value)) = header {
        req = req.header(name, value);
    }
    req.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_sso_skips_mfa_and_every_forgery_is_refused() {
    let pki = Pki::new();
    let issuer = Issuer::new(&pki);
    let echo = upstream::start("echo").await;
    let gw = start(&pki, echo.addr);
    let local: IpAddr = "127.0.0.1".parse().unwrap();
    let c = client(&pki, &gw, local);

    let good = issuer.token(claims("agent1@demo.test"), "sso-1");
    let resp = login(&gw, &c, Some(("Cf-Access-Jwt-Assertion", &good))).await;
    assert_eq!(resp.status(), 302, "SSO users skip the second factor");
    let dash = set_cookies(&resp)
        .into_iter()
        .find(|c| c.starts_with("__Host-mfagate-jar0="))
        .expect("the dashboard session is kept in the SSO identity's sealed jar");
    let inbox = c
        .get(format!("https://alpha.test:{}/", gw.https_addr.port()))
        .header("Cf-Access-Jwt-Assertion", &good)
        .header("cookie", dash.split(';').next().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        inbox.status(),
        200,
        "the SSO identity stands in for a gateway session"
    );

    let b64 = |v: serde_json::Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let mut expired = claims("agent1@demo.test");
    expired["exp"] = serde_json::json!(now() - 600);
    let mut wrong_aud = claims("agent1@demo.test");
    wrong_aud["aud"] = serde_json::json!("someone-else");
    let mut wrong_iss = claims("agent1@demo.test");
    wrong_iss["iss"] = serde_json::json!("https://evil.test");
    let mut no_mfa = claims("agent1@demo.test");
    no_mfa["amr"] = serde_json::json!(["pwd"]);
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("sso-1".into());
    let hs256_with_public_key = encode(
        &hs,
        &claims("agent1@demo.test"),
        &EncodingKey::from_secret(issuer.public_pem.as_bytes()),
    )
    .unwrap();
    let forged = [
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(serde_json::json!({"alg": "none", "kid": "sso-1"})),
                b64(claims("agent1@demo.test"))
            ),
        ),
        ("HS256 signed with the public key", hs256_with_public_key),
        ("expired", issuer.token(expired, "sso-1")),
        ("wrong audience", issuer.token(wrong_aud, "sso-1")),
        ("wrong issuer", issuer.token(wrong_iss, "sso-1")),
        (
            "unknown kid",
            issuer.token(claims("agent1@demo.test"), "sso-2"),
        ),
        ("missing amr", issuer.token(no_mfa, "sso-1")),
        ("no iss although an issuer is configured", {
            let mut c = claims("agent1@demo.test");
            c.as_object_mut().unwrap().remove("iss");
            issuer.token(c, "sso-1")
        }),
        ("no aud although an audience is configured", {
            let mut c = claims("agent1@demo.test");
            c.as_object_mut().unwrap().remove("aud");
            issuer.token(c, "sso-1")
        }),
        ("no exp", {
            let mut c = claims("agent1@demo.test");
            c.as_object_mut().unwrap().remove("exp");
            issuer.token(c, "sso-1")
        }),
        ("an unknown critical header parameter", {
            let mut header = Header::new(Algorithm::ES256);
            header.kid = Some("sso-1".into());
            header.crit = Some(vec!["x-unknown".into()]);
            encode(&header, &claims("agent1@demo.test"), &issuer.key).unwrap()
        }),
    ];
    for (what, token) in &forged {
        let resp = login(
            &gw,
            &client(&pki, &gw, local),
            Some(("Cf-Access-Jwt-Assertion", token)),
        )
        .await;
        assert_eq!(
            location(&resp),
            "/.mfagate/",
            "{what}: no identity, so the password needs MFA"
        );
    }
    let events = gw.auth.as_ref().unwrap().activity(1000).await;
    let rejected = events
        .iter()
        .filter(|e| matches!(e.kind, mfagate::audit::EventKind::SsoRejected { .. }))
        .count();
    assert_eq!(rejected, forged.len());

    // Two copies of the header: never "first wins", whichever copy is valid.
    let twice = client(&pki, &gw, local)
        .post(format!("https://alpha.test:{}/login", gw.https_addr.port()))
        .form(&[("email", "agent1@demo.test"), ("password", "agent1-pass")])
        .header("Cf-Access-Jwt-Assertion", &good)
        .header("Cf-Access-Jwt-Assertion", &forged[0].1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&twice),
        "/.mfagate/",
        "duplicate SSO header: anonymous"
    );
    stop(gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_identity_header_counts_only_from_trusted_proxies() {
    let pki = Pki::new();
    let _issuer = Issuer::new(&pki);
    let echo = upstream::start("echo").await;
    let gw = start(&pki, echo.addr);
    let trusted = client(&pki, &gw, "127.0.0.1".parse().unwrap());
    let resp = login(
        &gw,
        &trusted,
        Some(("X-Forwarded-Email", "agent1@demo.test")),
    )
    .await;
    assert_eq!(
        resp.status(),
        302,
        "from a trusted proxy the header is believed"
    );

    let untrusted = client(&pki, &gw, "127.0.0.2".parse().unwrap());
    let resp = login(
        &gw,
        &untrusted,
        Some(("X-Forwarded-Email", "agent1@demo.test")),
    )
    .await;
    assert_eq!(
        location(&resp),
        "/.mfagate/",
        "from 127.0.0.2 it is ignored"
    );
    let events = gw.auth.as_ref().unwrap().activity(1000).await;
    assert!(events.iter().any(
        |e| e.kind == mfagate::audit::EventKind::SpoofedIdentityHeader && e.ip == "127.0.0.2"
    ));
    // And it never reaches a dashboard.
    let echoed: serde_json::Value = untrusted
        .get(format!("https://echo.test:{}/echo", gw.https_addr.port()))
        .header("X-Forwarded-Email", "admin@demo.test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!echoed
        .to_string()
        .to_lowercase()
        .contains("x-forwarded-email"));
    stop(gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_identity_assertion_verifies_against_the_published_jwks() {
    let pki = Pki::new();
    let issuer = Issuer::new(&pki);
    let echo = upstream::start("echo").await;
    let gw = start(&pki, echo.addr);
    let c = client(&pki, &gw, "127.0.0.1".parse().unwrap());
    let base = format!("https://echo.test:{}", gw.https_addr.port());
    let echoed: serde_json::Value = c
        .get(format!("{base}/echo"))
        .header("Cf-Access-Jwt-Assertion", {
            let mut c = claims("supervisor@demo.test");
            c["role"] = serde_json::json!("supervisor");
            c["envs"] = serde_json::json!(["echo", "alpha"]);
            issuer.token(c, "sso-1")
        })
        .header("X-Mfagate-Assertion", "forged.by.client")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let assertion = echoed["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "x-mfagate-assertion")
        .map(|h| h[1].as_str().unwrap().to_string())
        .expect("assertion sent upstream");
    assert_ne!(assertion, "forged.by.client");
    let jwks: JwkSet = c
        .get(format!("{base}/.mfagate/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = jsonwebtoken::decode_header(&assertion)
        .unwrap()
        .kid
        .unwrap();
    let key = DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<serde_json::Value>(&assertion, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], "supervisor@demo.test");
    assert_eq!(claims["env"], "echo");
    assert_eq!(claims["amr"], serde_json::json!(["sso"]));
    assert_eq!(
        claims["roles"],
        serde_json::json!(["supervisor"]),
        "role from the SSO's claim"
    );
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        60
    );
    stop(gw).await;
}

/// SSO keys from an https JWKS: fetched when a token names an unknown key (so rotation just
/// works), never more often than `jwks_refresh_secs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_jwks_is_fetched_and_refreshed_on_rotation_but_bounded() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    let pki = Pki::new();
    let first = Issuer::new(&pki);
    let served = Arc::new(Mutex::new(
        std::fs::read_to_string(pki.path("sso-jwks.json")).unwrap(),
    ));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (s, f) = (served.clone(), fetches.clone());
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            f.fetch_add(1, Ordering::SeqCst);
            let body = s.lock().unwrap().clone();
            async move { body }
        }),
    );
    pki.leaf("jwks", &["127.0.0.1"]);
    let jwks = upstream::serve_tls(app, pki.server_tls("jwks")).await;
    let remote = SSO.replace(
        "jwks_file = \"sso-jwks.json\"",
        &format!("jwks_url = \"https://127.0.0.1:{}/jwks\"\njwks_ca_file = \"ca.pem\"\njwks_refresh_secs = 1", jwks.port()),
    );
    let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut toml = config_head(&pki, "");
    toml.push_str(&environment(
        &pki,
        dashboard,
        "alpha.test",
        "required",
        "",
        &remote,
    ));
    let gw = start_gateway(&pki, &toml);
    let c = || client(&pki, &gw, "127.0.0.1".parse().unwrap());

    let token = first.token(claims("agent1@demo.test"), "sso-1");
    assert_eq!(
        login(&gw, &c(), Some(("Cf-Access-Jwt-Assertion", &token)))
            .await
            .status(),
        302
    );
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "fetched on first use");

    // The SSO rotates to a new key (same file name, new kid).
    let rotated = Issuer::new(&pki);
    let mut set: JwkSet =
        serde_json::from_str(&std::fs::read_to_string(pki.path("sso-jwks.json")).unwrap()).unwrap();
    set.keys[0].common.key_id = Some("sso-2".into());
    *served.lock().unwrap() = serde_json::to_string(&set).unwrap();
    let new_token = rotated.token(claims("agent1@demo.test"), "sso-2");
    let too_soon = login(&gw, &c(), Some(("Cf-Access-Jwt-Assertion", &new_token))).await;
    assert_eq!(
        location(&too_soon),
        "/.mfagate/",
        "not refetched within the refresh interval"
    );
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        login(&gw, &c(), Some(("Cf-Access-Jwt-Assertion", &new_token)))
            .await
            .status(),
        302,
        "refetched for the new kid"
    );
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    // Unknown key ids cannot make the gateway hammer the SSO.
    for kid in ["x1", "x2", "x3"] {
        let bogus = rotated.token(claims("agent1@demo.test"), kid);
        login(&gw, &c(), Some(("Cf-Access-Jwt-Assertion", &bogus))).await;
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 2, "bounded");
    stop(gw).await;
}
