//! Enforcement with grace, end to end: switching an environment to `required` keeps existing
//! sessions for the grace period (with a header saying until when), survives a restart without
//! moving the start, and at the end logs those sessions out on every device — including an idle
//! WebSocket, within a second, without any request — and ends the dashboard's sessions too.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::support::mfa::{config_head, environment, location, sealed_dash_cookie, set_cookies};
use crate::support::{start_gateway, Pki};
use futures_util::StreamExt;
use mfagate::proxy::RunningGateway;

fn gateway(pki: &Pki, dashboard: SocketAddr, mode: &str) -> RunningGateway {
    let mut toml = config_head(pki, "");
    toml.push_str(&environment(
        pki,
        dashboard,
        "alpha.test",
        mode,
        // "Keep me signed in"-length sessions, so they can outlive the grace period.
        "grace_period_days = 7\nsession_idle_minutes = 20160\nsession_absolute_hours = 720",
        "",
    ));
    start_gateway(pki, &toml)
}

async fn restart(
    old: RunningGateway,
    pki: &Pki,
    dashboard: SocketAddr,
    mode: &str,
) -> RunningGateway {
    old.shutdown();
    tokio::task::spawn_blocking(move || old.join())
        .await
        .unwrap();
    gateway(pki, dashboard, mode)
}

fn url(gw: &RunningGateway, path: &str) -> String {
    format!("https://alpha.test:{}{path}", gw.https_addr.port())
}

/// "name=value" pairs of the cookies a response set.
fn pairs(resp: &reqwest::Response) -> Vec<String> {
    set_cookies(resp)
        .iter()
        .map(|c| c.split(';').next().unwrap().to_string())
        .collect()
}

/// A browser-like client that sends exactly `cookies` (cookie jars cannot follow a port change).
async fn get(gw: &RunningGateway, pki: &Pki, cookies: &[String], path: &str) -> reqwest::Response {
    pki.client(&["alpha.test"], gw.https_addr, false)
        .get(url(gw, path))
        .header("cookie", cookies.join("; "))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_live_through_grace_then_end_everywhere() {
    crate::support::logs();
    let pki = Pki::new();
    let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();

    // Before enforcement: two browsers sign in with the password only.
    let gw = gateway(&pki, dashboard, "off");
    let mut browsers = Vec::new();
    let mut dash_cookies = Vec::new();
    for _ in 0..2 {
        let resp = pki
            .client(&["alpha.test"], gw.https_addr, false)
            .post(url(&gw, "/login"))
            .form(&[("email", "agent1@demo.test"), ("password", "agent1-pass")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 302, "no MFA before enforcement");
        browsers.push(pairs(&resp));
        dash_cookies.push(sealed_dash_cookie(gw.auth.as_ref().unwrap(), &resp).unwrap());
    }
    // Enforcement on, possibly within the same second (times are kept to the millisecond):
    // the sessions live on, told when MFA becomes mandatory.
    let gw = restart(gw, &pki, dashboard, "required").await;
    let since = gw.auth.as_ref().unwrap().policies().enforced_since["alpha"];
    let inbox = get(&gw, &pki, &browsers[0], "/").await;
    assert_eq!(inbox.status(), 200, "session kept during grace");
    let deadline = mfagate::clock::utc(since.div_ceil(1000) + 7 * 86_400);
    assert_eq!(
        inbox.headers()["x-mfagate-mfa-required-from"],
        deadline.as_str()
    );
    let new_login = pki
        .client(&["alpha.test"], gw.https_addr, false)
        .post(url(&gw, "/login"))
        .form(&[("email", "agent1@demo.test"), ("password", "agent1-pass")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&new_login),
        "/.mfagate/",
        "new logins need MFA from now on"
    );

    // A restart in the middle of grace keeps the start of enforcement.
    let gw = restart(gw, &pki, dashboard, "required").await;
    let auth = gw.auth.clone().unwrap();
    assert_eq!(auth.policies().enforced_since["alpha"], since);
    auth.clock.advance(3 * 86_400);
    assert_eq!(
        get(&gw, &pki, &browsers[1], "/").await.status(),
        200,
        "still in grace"
    );

    // An idle WebSocket on the first browser's session.
    let mut ws = pki
        .open_ws(gw.https_addr, "alpha.test", &browsers[0].join("; "))
        .await
        .unwrap();

    // Grace ends: no request arrives, yet within a second the WebSocket is closed.
    auth.clock.advance(4 * 86_400);
    let started = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            match ws.next().await {
                None
                | Some(Err(_))
                | Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) => break,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "WebSocket not closed within 1 s");
    println!(
        "websocket closed {:?} after the grace period ended",
        started.elapsed()
    );

    // The sweep ends the sessions one after the other, each audited once the dashboard's
    // logout answered: wait for the last one (a request of a session ending meanwhile
    // would be cut).
    let deadline = Instant::now() + Duration::from_secs(5);
    let (forced, events) = loop {
        let events = auth.activity(1000).await;
        let forced = events
            .iter()
            .filter(|e| matches!(&e.kind, mfagate::audit::EventKind::ForcedLogout { .. }))
            .count();
        if forced >= 2 || Instant::now() > deadline {
            break (forced, events);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        forced, 2,
        "one audited forced logout per session: {events:?}"
    );
    // Both browsers are logged out: told why by the gateway, not let through to the dashboard.
    for (cookies, dash) in browsers.iter().zip(&dash_cookies) {
        let resp = get(&gw, &pki, cookies, "/").await;
        assert_eq!(resp.status(), 303);
        assert_eq!(location(&resp), "/.mfagate/signed-out?why=grace_ended");
        // The dashboard's own session ended too (its logout got the withheld credential).
        let direct = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(format!("http://{dashboard}/"))
            .header("cookie", dash)
            .send()
            .await
            .unwrap();
        assert_eq!(direct.status(), 302, "dashboard session ended");
    }
    crate::support::stop(gw).await;
}

/// Users the enforcement applies to who have no factor yet are told once, by email.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_without_a_factor_are_told_once() {
    let pki = Pki::new();
    let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
    let sink = crate::support::smtp::SmtpSink::start().await;
    let (mail, _) = crate::support::mfa::mail_extra(sink.port());
    let users = "[[users]]\nidentity = \"agent2@demo.test\"\nrole = \"agent\"\nenvironments = [\"alpha\"]\n\
                 [[users]]\nidentity = \"supervisor@demo.test\"\nrole = \"supervisor\"\nenvironments = [\"other\"]\n";
    let toml = |pki: &Pki| {
        let mut t = config_head(pki, &format!("{users}{mail}"));
        t.push_str(&environment(
            pki,
            dashboard,
            "alpha.test",
            "required",
            "methods = [\"totp\", \"email\", \"backup\"]",
            "",
        ));
        t.push_str(&environment(pki, dashboard, "other.test", "off", "", ""));
        t
    };
    let gw = start_gateway(&pki, &toml(&pki));
    let mails = sink.wait_for(1).await;
    assert_eq!(mails[0].to, ["agent2@demo.test"]);
    assert!(mails[0].data.contains("becomes mandatory"));
    // It names what this user may choose, and says nothing of a code it does not contain.
    assert!(
        mails[0]
            .data
            .contains("or to confirm with a code sent by email"),
        "{}",
        mails[0].data
    );
    assert!(
        !mails[0].data.contains("for this code"),
        "{}",
        mails[0].data
    );
    gw.shutdown();
    tokio::task::spawn_blocking(move || gw.join())
        .await
        .unwrap();
    let gw = start_gateway(&pki, &toml(&pki));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 1, "told once, not at every start");
    crate::support::stop(gw).await;
}
