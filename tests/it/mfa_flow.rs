//! The heart of the product, end to end through TLS with a cookie-jar client: the dashboard's
//! credential is withheld until a second factor passes on this browser.

use crate::support::mfa::{
    assert_released_sealed, csrf, gateway_cookie_header, location, set_cookies, MfaEnv,
};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_login_is_held_until_totp_enrollment_then_released() {
    let t = MfaEnv::start();
    let browser = t.browser();
    let resp = t.login(&browser, "agent1@demo.test", "agent1-pass").await;
    assert_eq!(resp.status(), 303);
    let cookies = set_cookies(&resp);
    assert!(
        !cookies.iter().any(|c| c.starts_with("dash_session=")),
        "dashboard cookie withheld: {cookies:?}"
    );
    let gateway = cookies
        .iter()
        .find(|c| c.starts_with("__Host-mfagate="))
        .expect("pending cookie");
    for attr in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(gateway.contains(attr), "{gateway}");
    }
    assert!(!gateway.contains("Domain"));
    // Without the second factor the dashboard stays closed.
    let inbox = t.get(&browser, "/").await;
    assert_eq!(inbox.status(), 302, "dashboard sends us to its login");

    let (_, codes, page) = t
        .login_and_enroll(&browser, "agent1@demo.test", "agent1-pass")
        .await;
    assert!(codes.iter().all(|c| c.len() == 11));
    let resp = t
        .post(&browser, "/.mfagate/continue", &[("csrf", &csrf(&page))])
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/");
    assert_released_sealed(&resp);
    let cookies = set_cookies(&resp);
    assert!(cookies
        .iter()
        .any(|c| c.starts_with("__Host-mfagate-device=")));
    let inbox = t.get(&browser, "/").await;
    assert_eq!(inbox.status(), 200);
    assert!(inbox.text().await.unwrap().contains("agent1@demo.test"));

    // The chat WebSocket works with the released session and is registered to it.
    let mut ws = t
        .pki
        .open_ws(t.gw.https_addr, "chat.test", &gateway_cookie_header(&resp))
        .await
        .unwrap();
    ws.send(Message::text("hello")).await.unwrap();
    let msg = ws.next().await.unwrap().unwrap();
    assert_eq!(msg.into_text().unwrap().as_str(), "agent1@demo.test: hello");
    let owners = t.gw.live.owners();
    assert_eq!(owners[0].user.as_deref(), Some("agent1@demo.test"));
    assert!(owners[0].session_id.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_login_gets_null_token_then_releases_it_once() {
    let t = MfaEnv::start();
    let browser = t.browser();
    // Enroll through the form first.
    let (secret, _, page) = t
        .login_and_enroll(&browser, "admin@demo.test", "admin-pass")
        .await;
    t.post(&browser, "/.mfagate/continue", &[("csrf", &csrf(&page))])
        .await;

    let spa = t.browser();
    let resp = spa
        .post(t.url("/api/v1/auth"))
        .json(&serde_json::json!({"email": "admin@demo.test", "password": "admin-pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        body["data"]["authentication_token"],
        serde_json::Value::Null
    );
    assert_eq!(body["mfa_required"], true);
    assert_eq!(body["mfa_url"], "/.mfagate/");
    assert_eq!(body["data"]["user"]["email"], "admin@demo.test");

    t.next_step();
    let resp = t.verify(&spa, &t.code(&secret)).await;
    assert_eq!(resp.status(), 303);
    assert!(!set_cookies(&resp)
        .iter()
        .any(|c| c.starts_with("dash_session=")));
    let released = t.get(&spa, "/.mfagate/api/release").await;
    assert_eq!(released.status(), 200);
    // In the dashboard's own shape: where its login answer had the token.
    let token = released.json::<serde_json::Value>().await.unwrap()["data"]["authentication_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        t.get(&spa, "/.mfagate/api/release").await.status(),
        410,
        "only once"
    );
    let me = spa
        .get(t.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    // The token alone (no gateway session) is refused, never forwarded.
    let bare = t
        .browser()
        .get(t.url("/api/v1/me"))
        .bearer_auth(&token)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 401, "API clients get JSON, not a redirect");
    assert_eq!(
        bare.json::<serde_json::Value>().await.unwrap()["error"],
        "authentication required"
    );
}

/// Back from the backup-codes page lands on "Enter your code": the code just used, entered
/// again for the same sign-in, is answered "already confirmed" and not counted as a failure
/// (so it cannot lead to a block); the sign-in continues from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_entered_again_after_the_factor_passed_is_not_counted() {
    let t = MfaEnv::start();
    let browser = t.browser();
    let (secret, _, _codes_page) = t
        .login_and_enroll(&browser, "agent2@demo.test", "agent2-pass")
        .await;
    let page = t.get(&browser, "/.mfagate/verify").await;
    let page = page.text().await.unwrap();
    for _ in 0..4 {
        let again = t
            .post(
                &browser,
                "/.mfagate/verify",
                &[("code", &t.code(&secret)), ("csrf", &csrf(&page))],
            )
            .await;
        assert_eq!(again.status(), 200);
        assert!(again.text().await.unwrap().contains("already confirmed"));
    }
    let events = t.auth().activity(500).await;
    let failures = events
        .iter()
        .filter(|e| matches!(e.kind, mfagate::audit::EventKind::MfaFailure { .. }))
        .count();
    assert_eq!(failures, 0, "not counted");
    let resp = t
        .post(&browser, "/.mfagate/continue", &[("csrf", &csrf(&page))])
        .await;
    assert_eq!(resp.status(), 303, "the sign-in continues");
    assert_released_sealed(&resp);
}
