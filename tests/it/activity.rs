//! The activity log: events of every kind with their fields on both stores, retention of
//! events and of people's data (with the clock moved past it), Redis staying bounded over a
//! simulated year, and owners' exports on the console, through the API and the CLI.

use std::sync::Arc;
use std::time::Duration;

use mfagate::audit::{AuditEvent, AuditSink, Category, Context, EventKind, Outcome, PassThrough};
use mfagate::domain::{AuthMethod, Factor};
use mfagate::store::{EmbeddedStore, RedisStore, RedisTarget, Store};
use serde_json::Value;

use crate::admin::Console;
use crate::support::mfa::{csrf, page};
use crate::support::stop;

const DAY_MS: u64 = 86_400_000;

/// Owner, admin and agents of "chat"; one agent only in "other".
const USERS: &str =
    "[[users]]\nidentity = \"admin@demo.test\"\nrole = \"owner\"\nenvironments = [\"chat\"]\n\
    [[users]]\nidentity = \"supervisor@demo.test\"\nrole = \"admin\"\nenvironments = [\"chat\"]\n\
    [[users]]\nidentity = \"agent2@demo.test\"\nrole = \"owner\"\nenvironments = [\"other\"]\n";

/// One event of every kind. The match below does not compile when a kind is added and not
/// listed here, so the contract covers every kind there is.
fn every_kind() -> Vec<EventKind> {
    let kinds = vec![
        EventKind::LoginIntercepted,
        EventKind::LoginPassthrough {
            reason: PassThrough::TrustedDevice,
        },
        EventKind::MfaSuccess {
            method: Factor::Totp,
        },
        EventKind::MfaFailure {
            method: Factor::EmailOtp,
        },
        EventKind::TotpReplay,
        EventKind::TotpEnrolled,
        EventKind::PasskeyRegistered {
            name: "MacBook Touch ID".into(),
        },
        EventKind::PasskeyUsed {
            name: "YubiKey".into(),
        },
        EventKind::PasskeyRemoved {
            name: "Old phone".into(),
        },
        EventKind::PasskeyCounterRegressed {
            name: "YubiKey".into(),
        },
        EventKind::BackupCodeUsed { remaining: 9 },
        EventKind::BackupCodesRegenerated,
        EventKind::DeviceTrusted,
        EventKind::DeviceRevoked,
        EventKind::SessionRevoked,
        EventKind::Logout,
        EventKind::CredentialWithoutSession,
        EventKind::EmailCodeSent,
        EventKind::EmailCodeResendRefused { wait_secs: 30 },
        EventKind::EmailCodeSendFailed,
        EventKind::UserBlocked { until: 1 },
        EventKind::AttemptBlocked { until: 1 },
        EventKind::LoginRateLimited,
        EventKind::ForcedLogout {
            reason: "grace over".into(),
        },
        EventKind::StepUpPassed,
        EventKind::SpoofedIdentityHeader,
        EventKind::SsoSignIn,
        EventKind::MemberHashFailed {
            reason: "no hash".into(),
            stripped: false,
        },
        EventKind::SsoRejected {
            reason: "expired".into(),
        },
        EventKind::LoginFailed {
            reason: "no session cookie".into(),
        },
        EventKind::CredentialOutsideLoginRoute,
        EventKind::GatewayCookieFromDashboard,
        EventKind::TokenNotBound,
        EventKind::FactorAdded,
        EventKind::FactorReplaced,
        EventKind::MfaTurnedOff,
        EventKind::EmailCodesSet { on: false },
        EventKind::MfaReset {
            reason: "lost phone".into(),
        },
        EventKind::AdminLogout {
            reason: "left".into(),
        },
        EventKind::EmailChanged {
            reason: "typo".into(),
        },
        EventKind::AdminRevoked,
        EventKind::UserUnblocked {
            reason: "ok".into(),
        },
        EventKind::RecoveryRequested,
        EventKind::RecoveryCodeSent,
        EventKind::AdminRecovered,
        EventKind::RecoveryApproved,
        EventKind::RecoveryDismissed,
        EventKind::AdminRefused {
            action: "reset_mfa".into(),
            reason: "outranked".into(),
        },
        EventKind::DashboardLogoutFailed {
            status: Some(403),
            reason: "refused".into(),
        },
        EventKind::DashboardLoggedOut,
        EventKind::SessionStarted {
            method: AuthMethod::Pwd,
        },
        EventKind::ExportRequested {
            export: "x1".into(),
            from_ms: 1,
            to_ms: 2,
            environments: vec!["chat".into()],
            kinds: vec![Category::Mfa],
        },
        EventKind::ExportReady {
            export: "x1".into(),
            events: 3,
            bytes: 4,
        },
        EventKind::ExportFailed {
            export: "x1".into(),
            reason: "disk full".into(),
        },
        EventKind::ExportDownloaded {
            export: "x1".into(),
        },
        EventKind::RetentionSwept {
            events: 1,
            users: 2,
            exports: 3,
            revocations: 4,
        },
    ];
    for kind in &kinds {
        use EventKind as K;
        match kind {
            K::LoginIntercepted
            | K::LoginPassthrough { .. }
            | K::MfaSuccess { .. }
            | K::MfaFailure { .. }
            | K::TotpReplay
            | K::TotpEnrolled
            | K::PasskeyRegistered { .. }
            | K::PasskeyUsed { .. }
            | K::PasskeyRemoved { .. }
            | K::PasskeyCounterRegressed { .. }
            | K::BackupCodeUsed { .. }
            | K::BackupCodesRegenerated
            | K::DeviceTrusted
            | K::DeviceRevoked
            | K::SessionRevoked
            | K::Logout
            | K::CredentialWithoutSession
            | K::EmailCodeSent
            | K::EmailCodeResendRefused { .. }
            | K::EmailCodeSendFailed
            | K::UserBlocked { .. }
            | K::AttemptBlocked { .. }
            | K::LoginRateLimited
            | K::ForcedLogout { .. }
            | K::StepUpPassed
            | K::SpoofedIdentityHeader
            | K::SsoSignIn
            | K::MemberHashFailed { .. }
            | K::SsoRejected { .. }
            | K::LoginFailed { .. }
            | K::CredentialOutsideLoginRoute
            | K::GatewayCookieFromDashboard
            | K::TokenNotBound
            | K::FactorAdded
            | K::FactorReplaced
            | K::MfaTurnedOff
            | K::EmailCodesSet { .. }
            | K::MfaReset { .. }
            | K::AdminLogout { .. }
            | K::EmailChanged { .. }
            | K::AdminRevoked
            | K::UserUnblocked { .. }
            | K::RecoveryRequested
            | K::RecoveryCodeSent
            | K::AdminRecovered
            | K::RecoveryApproved
            | K::RecoveryDismissed
            | K::AdminRefused { .. }
            | K::DashboardLogoutFailed { .. }
            | K::DashboardLoggedOut
            | K::SessionStarted { .. }
            | K::ExportRequested { .. }
            | K::ExportReady { .. }
            | K::ExportFailed { .. }
            | K::ExportDownloaded { .. }
            | K::RetentionSwept { .. } => {}
        }
    }
    kinds
}

/// Every kind recorded through the sink on `store` reads back whole, in time order, with its
/// fields; a period and an environment select exactly their events.
async fn contract(store: Arc<dyn Store>) {
    let sink = AuditSink::new(store, Duration::from_secs(365 * 86_400));
    let base = 1_800_000_000_000u64;
    let ctx = Context {
        at_ms: base,
        environment: "chat".into(),
        ip: "192.0.2.7".into(),
        request_id: "00000000000000ab".into(),
        ..Default::default()
    };
    let ctx = ctx
        .by("admin@x.test")
        .with_user("agent@x.test")
        .with_device("dev-1")
        .with_agent("Firefox on Linux".into());
    let kinds = every_kind();
    let mut written = Vec::new();
    for (i, kind) in kinds.iter().enumerate() {
        let event = Context {
            at_ms: base + i as u64,
            ..ctx.clone()
        }
        .event(kind.clone());
        sink.record(event.clone()).await;
        written.push(event);
    }
    let elsewhere = Context {
        environment: "other".into(),
        ..ctx.clone()
    };
    sink.record(elsewhere.event(EventKind::Logout)).await;

    let chat = ["chat".to_string()];
    let read = sink.recent(&chat, 10_000).await;
    assert_eq!(read, written, "every kind reads back exactly, in order");
    let json = serde_json::to_value(&read[2]).unwrap();
    for field in [
        "at_ms",
        "event",
        "outcome",
        "actor",
        "target",
        "environment",
        "device",
        "ip",
        "agent",
        "request_id",
    ] {
        assert!(!json[field].is_null(), "{field} in {json}");
    }
    assert_eq!(json["actor"], "admin@x.test");
    assert_eq!(json["target"], "agent@x.test");
    assert_eq!(json["agent"], "Firefox on Linux");
    assert_eq!(read[3].outcome, Outcome::Failure);

    // A period is exactly its events; another environment's are not in it.
    let mut period = sink.period(&chat, base + 5, base + 9);
    let mut got = Vec::new();
    while let Some(e) = period.next().await.unwrap() {
        got.push(e);
    }
    assert_eq!(got, written[5..=9]);
    let both = sink.recent(&["other".into(), "chat".into()], 10_000).await;
    assert_eq!(both.len(), written.len() + 1, "two logs merged");
    assert!(
        both.windows(2).all(|w| w[0].at_ms <= w[1].at_ms),
        "in time order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_every_kind_keep_their_fields_on_both_stores() {
    let dir = tempfile::tempdir().unwrap();
    contract(Arc::new(EmbeddedStore::open(dir.path()).unwrap())).await;
    let server = crate::support::redis::RedisServer::start(false);
    let target = RedisTarget::standalone(&server.url(), None);
    contract(Arc::new(RedisStore::open(&target, "activity:").unwrap())).await;
}

/// A simulated year of 40 events a day into a log kept for 30 days: the Redis stream (trimmed
/// approximately on every append) and the embedded log (trimmed by the sweep) stay bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_year_of_events_stays_within_the_retention_on_both_stores() {
    let server = crate::support::redis::RedisServer::start(false);
    let target = RedisTarget::standalone(&server.url(), None);
    let dir = tempfile::tempdir().unwrap();
    let stores: [(&str, Arc<dyn Store>); 2] = [
        (
            "redis",
            Arc::new(RedisStore::open(&target, "year:").unwrap()),
        ),
        (
            "embedded",
            Arc::new(EmbeddedStore::open(dir.path()).unwrap()),
        ),
    ];
    let (per_day, days, kept_days) = (40u64, 365u64, 30u64);
    let start = 1_800_000_000_000u64;
    let mut conn = server.admin();
    let mut peak_bytes = 0u64;
    for (name, store) in stores {
        let sink = AuditSink::new(store.clone(), Duration::from_secs(kept_days * 86_400));
        let logs = ["chat".to_string()];
        for day in 0..days {
            for i in 0..per_day {
                let at_ms = start + day * DAY_MS + i * 1000;
                let ctx = Context {
                    at_ms,
                    environment: "chat".into(),
                    ..Default::default()
                };
                sink.record(ctx.with_user("agent@x.test").event(EventKind::Logout))
                    .await;
            }
            if name == "embedded" && day % 7 == 6 {
                sink.trim(&logs, start + (day + 1) * DAY_MS).await.unwrap();
            }
            if name == "redis" && day % 30 == 29 {
                let usage: Option<u64> = redis::cmd("MEMORY")
                    .arg("USAGE")
                    .arg("year:log:{audit:chat}")
                    .query(&mut conn)
                    .unwrap();
                peak_bytes = peak_bytes.max(usage.unwrap_or(0));
            }
        }
        let end = start + days * DAY_MS;
        sink.trim(&logs, end).await.unwrap();
        let left = sink.recent(&logs, 1_000_000).await;
        let kept = per_day * kept_days;
        assert_eq!(
            left.len() as u64,
            kept,
            "{name}: exactly the retention after a trim"
        );
        assert!(
            left.iter().all(|e| e.at_ms >= end - kept_days * DAY_MS),
            "{name}"
        );
    }
    // Trimmed while appending: a month of events takes a bounded, small amount of memory.
    assert!(
        peak_bytes > 0 && peak_bytes < 1_000_000,
        "redis stream peaked at {peak_bytes} bytes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_removes_old_events_and_people_who_stopped_signing_in() {
    let top = "[audit]\nretention = \"30d\"\n";
    let c = Console::start_with(USERS, top, "retention = \"45d\"").await;
    let (agent, _) = c.signed_in("agent1@demo.test", "agent1-pass").await;
    assert_eq!(c.get(&agent, "/").await.status(), 200);
    let auth = c.auth();
    assert!(c.has_totp("agent1@demo.test").await);
    let early = auth.activity(10_000).await.len();
    assert!(early >= 4, "sign-in events recorded");
    // A revocation, recorded for resync until no session it could apply to is left.
    let revoked = auth
        .records
        .revoke_session("agent1@demo.test", "sid-old", auth.clock.now_ms());
    revoked.await.unwrap();
    let store = auth.records.store.clone();
    assert_eq!(
        store.set_members("revoked-sessions").await.unwrap().len(),
        1
    );

    // 31 days on: the events are past the log's retention, the person not yet past theirs.
    auth.clock.advance(31 * 86_400);
    let (fresh, _) = c.signed_in("supervisor@demo.test", "supervisor-pass").await;
    let swept = auth.retention_sweep().await.unwrap();
    assert!(swept.events as usize >= early, "{swept:?}");
    assert_eq!((swept.users, swept.revocations), (0, 1), "{swept:?}");
    let left = auth.activity(10_000).await;
    assert!(
        left.iter()
            .all(|e| e.at_ms >= auth.clock.now_ms() - 30 * DAY_MS),
        "{left:?}"
    );
    assert!(
        left.iter()
            .any(|e| e.user.as_deref() == Some("supervisor@demo.test")),
        "new ones stay"
    );
    assert!(c.has_totp("agent1@demo.test").await, "kept for 45 days");
    assert!(store
        .set_members("revoked-sessions")
        .await
        .unwrap()
        .is_empty());

    // 46 days after their last sign-in the agent is forgotten; the supervisor stays.
    auth.clock.advance(15 * 86_400);
    let swept = auth.retention_sweep().await.unwrap();
    assert_eq!(swept.users, 1, "{swept:?}");
    assert!(!c.has_totp("agent1@demo.test").await);
    assert!(auth
        .records
        .devices("agent1@demo.test")
        .await
        .unwrap()
        .is_empty());
    assert!(auth
        .records
        .profile("agent1@demo.test")
        .await
        .unwrap()
        .is_none());
    let known = auth.records.known_users().await.unwrap();
    assert!(
        !known.contains(&"agent1@demo.test".to_string())
            && known.contains(&"supervisor@demo.test".to_string())
    );
    assert!(c.has_totp("supervisor@demo.test").await);
    let summary = c.audited("retention_swept").await;
    assert_eq!(
        summary.len(),
        2,
        "one summary per sweep that removed something"
    );
    assert_eq!(summary[1]["users"], 1);
    assert!(
        !serde_json::to_string(&summary).unwrap().contains("agent1"),
        "counts, not names"
    );
    drop(fresh);
    stop(c.gw).await;
}

/// The owner's console page: asks for a period with the page's CSRF token.
async fn ask_export(
    c: &Console,
    owner: &reqwest::Client,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let form = page(owner, &format!("{}/.mfagate/admin/exports", c.base())).await;
    let mut body = vec![("csrf", csrf(&form))];
    body.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
    let url = format!("{}/.mfagate/admin/exports", c.base());
    owner.post(url).form(&body).send().await.unwrap()
}

/// Waits (bounded) until the export is no longer running.
async fn finished(c: &Console, id: &str) -> mfagate::store::records::ExportJob {
    for _ in 0..200 {
        let job = c.auth().records.export(id).await.unwrap().unwrap();
        if job.state != mfagate::store::records::ExportState::Running {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("export {id} still running");
}

fn rfc3339(ms: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap();
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_exports_exactly_a_period_and_sees_the_download_in_the_history() {
    let c = Console::start_with(USERS, "", "").await;
    let auth = c.auth();
    let from_ms = auth.clock.now_ms() - 1000;
    let (agent, _) = c.signed_in("agent1@demo.test", "agent1-pass").await;
    for path in ["/.mfagate/admin/exports", "/.mfagate/admin/api/v1/exports"] {
        assert_eq!(
            c.get(&agent, path).await.status(),
            403,
            "an agent at {path}"
        );
    }
    let other = c.pki.client(&["other.test"], c.gw.https_addr, false);
    let other_base = format!("https://other.test:{}", c.gw.https_addr.port());
    let (seed2, _) = crate::support::mfa::enroll_at(
        &other,
        &other_base,
        "agent2@demo.test",
        "agent2-pass",
        auth.clock.now(),
    )
    .await;
    let to_ms = auth.clock.now_ms();
    let expected: Vec<Value> = auth
        .activity(100_000)
        .await
        .into_iter()
        .filter(|e| e.environment == "chat" && (from_ms..=to_ms).contains(&e.at_ms))
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    assert!(expected.len() >= 4, "{expected:?}");
    // Whatever happens after the period is not in its export.
    auth.clock.advance(3600);

    let (owner, _) = c.signed_in("admin@demo.test", "admin-pass").await;
    let (admin, _) = c.signed_in("supervisor@demo.test", "supervisor-pass").await;
    for path in ["/.mfagate/admin/exports", "/.mfagate/admin/api/v1/exports"] {
        assert_eq!(
            c.get(&admin, path).await.status(),
            403,
            "an admin at {path}"
        );
    }
    let users = page(&admin, &format!("{}/.mfagate/admin/", c.base())).await;
    assert!(
        !users.contains("admin/exports"),
        "admins are not shown the page"
    );
    let users = page(&owner, &format!("{}/.mfagate/admin/", c.base())).await;
    assert!(users.contains("admin/exports\">Activity log"), "{users}");

    let (from, to) = (rfc3339(from_ms), rfc3339(to_ms));
    let asked = ask_export(
        &c,
        &owner,
        &[
            ("from", &from),
            ("to", &to),
            ("environment", "chat"),
            ("kinds", ""),
        ],
    )
    .await;
    assert_eq!(asked.status(), 303);
    let id = auth.records.exports().await.unwrap()[0].id.clone();
    let job = finished(&c, &id).await;
    assert_eq!(
        job.state,
        mfagate::store::records::ExportState::Ready,
        "{job:?}"
    );
    assert_eq!(job.events as usize, expected.len());
    let mail = c
        .mail("admin@demo.test", "your activity-log export is ready")
        .await;
    assert!(
        mail.contains(&format!("{} events", expected.len())),
        "{mail}"
    );

    // Sealed at rest: nothing of the events is readable in the file.
    let file = std::fs::read(c.pki.path(&format!("data/exports/{id}.sealed"))).unwrap();
    assert!(
        !file.windows(16).any(|w| w == b"agent1@demo.test"),
        "sealed"
    );

    let url = format!("/.mfagate/admin/exports/download?id={id}");
    let download = c.get(&owner, &url).await;
    assert_eq!(download.status(), 200);
    let disposition = download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"activity-"),
        "{disposition}"
    );
    let exported: Vec<Value> = download.json().await.unwrap();
    assert_eq!(
        exported, expected,
        "exactly the period's events of that environment"
    );
    let lines = c
        .get(&owner, &format!("{url}&format=ndjson"))
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, expected);
    assert!(
        !serde_json::to_string(&lines)
            .unwrap()
            .contains("agent1-pass"),
        "no password"
    );

    let history = page(&owner, &format!("{}/.mfagate/admin/exports", c.base())).await;
    assert!(
        history.contains("by admin@demo.test"),
        "downloads listed: {history}"
    );
    let job = auth.records.export(&id).await.unwrap().unwrap();
    assert_eq!(job.downloads.len(), 2);
    assert_eq!(
        c.audited("export_requested").await[0]["actor"],
        "admin@demo.test"
    );
    assert_eq!(c.audited("export_downloaded").await.len(), 2);
    assert_eq!(c.audited("export_ready").await.len(), 1);
    // An admin cannot download it either.
    assert_eq!(c.get(&admin, &url).await.status(), 403);
    // Nor can an owner of another environment: they neither see nor download it (a new
    // browser, so the second factor is fresh).
    let other = c.pki.client(&["other.test"], c.gw.https_addr, false);
    let login = other
        .post(format!("{other_base}/login"))
        .form(&[("email", "agent2@demo.test"), ("password", "agent2-pass")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.headers()["location"], "/.mfagate/");
    let code = mfagate::mfa::totp::code_at(&seed2, auth.clock.now());
    let verified = crate::support::mfa::verify_at(&other, &other_base, &code).await;
    assert_eq!(verified.status(), 303);
    let theirs = other
        .get(format!("{other_base}/.mfagate/admin/api/v1/exports"))
        .send()
        .await
        .unwrap();
    let theirs: Value = theirs.json().await.unwrap();
    assert_eq!(theirs["exports"], serde_json::json!([]), "{theirs}");
    let stolen = other
        .get(format!("{other_base}{url}"))
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), 404, "another environment's owner");

    // The same through the API, as the owner's session (JSON from the gateway's origin).
    let api = format!("{}/.mfagate/admin/api/v1/exports", c.base());
    let body = serde_json::json!({"from": from, "to": to, "kinds": ["mfa"]});
    let created = owner
        .post(&api)
        .header("Origin", c.base())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 202);
    let created: Value = created.json().await.unwrap();
    let id2 = created["id"].as_str().unwrap().to_string();
    let job2 = finished(&c, &id2).await;
    let mfa_only = expected.iter().filter(|e| {
        let kind: EventKind = serde_json::from_value((*e).clone())
            .map(|e: AuditEvent| e.kind)
            .unwrap();
        kind.category() == Category::Mfa
    });
    assert_eq!(
        job2.events as usize,
        mfa_only.count(),
        "the owner's environment's MFA events"
    );
    let listed: Value = c
        .get(&owner, "/.mfagate/admin/api/v1/exports")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["exports"].as_array().unwrap().len(), 2);
    let bad = owner
        .post(&api)
        .header("Origin", c.base())
        .json(&serde_json::json!({"from": "soon", "to": to}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);

    // Files expire after audit.export_retention; the history stays.
    auth.clock.advance(8 * 86_400);
    let swept = auth.retention_sweep().await.unwrap();
    assert_eq!(swept.exports, 2, "{swept:?}");
    assert!(!c.pki.path(&format!("data/exports/{id}.sealed")).exists());
    let job = auth.records.export(&id).await.unwrap().unwrap();
    assert_eq!(job.state, mfagate::store::records::ExportState::Expired);
    assert_eq!(job.downloads.len(), 2, "the history stays");
    stop(c.gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_exports_a_period_from_the_store_of_a_stopped_gateway() {
    let c = Console::start_with(USERS, "", "").await;
    let _ = c.signed_in("agent1@demo.test", "agent1-pass").await;
    let expected = c.auth().activity(100_000).await;
    let toml = c.toml.clone();
    let config = c.pki.path("mfagate.toml");
    std::fs::write(&config, toml).unwrap();
    stop(c.gw).await;
    let out = c.pki.path("activity.ndjson");
    let today = mfagate::clock::utc_date(expected[0].at_secs());
    let args = [
        "audit",
        "export",
        "--config",
        config.to_str().unwrap(),
        "--from",
        &today,
        "--to",
        &today,
        "--env",
        "chat",
        "--out",
        out.to_str().unwrap(),
    ];
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_mfagate"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let lines: Vec<AuditEvent> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let chat: Vec<_> = expected
        .into_iter()
        .filter(|e| e.environment == "chat")
        .collect();
    assert_eq!(lines, chat);
    assert!(
        stderr.contains(&format!("{} events written", chat.len())),
        "{stderr}"
    );
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_mfagate"))
        .args([
            "audit",
            "export",
            "--config",
            config.to_str().unwrap(),
            "--from",
            "nope",
            "--to",
            &today,
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("--from"));
}

/// A store written by an earlier version (one sequence-keyed log, times in seconds, the target
/// as `user`, admin actors inside the event) is read into the per-environment logs once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_an_earlier_version_move_into_the_time_keyed_logs_once() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = redb::Database::create(dir.path().join("mfagate.redb")).unwrap();
        let logs: redb::TableDefinition<(&str, u64), &[u8]> = redb::TableDefinition::new("logs");
        let tx = db.begin_write().unwrap();
        {
            let mut table = tx.open_table(logs).unwrap();
            let reset = r#"{"at":1700000000,"event":"mfa_reset","actor":"admin@x.test","reason":"lost phone","outcome":"success","user":"ada@x.test","environment":"chat","device":null,"ip":"192.0.2.1","request_id":"00000000000000aa"}"#;
            let login = r#"{"at":1700000100,"event":"login_intercepted","outcome":"success","user":"bob@x.test","environment":"other","device":null,"ip":"192.0.2.2","request_id":"00000000000000bb"}"#;
            table.insert(("audit", 1), reset.as_bytes()).unwrap();
            table.insert(("audit", 2), login.as_bytes()).unwrap();
        }
        tx.commit().unwrap();
    }
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let sink = AuditSink::new(store.clone(), Duration::from_secs(20 * 365 * 86_400));
    assert_eq!(sink.move_legacy().await.unwrap(), 2);
    let chat = sink.recent(&["chat".into()], 10).await;
    assert_eq!(chat.len(), 1);
    assert_eq!(
        chat[0].at_ms, 1_700_000_000_000,
        "seconds became milliseconds"
    );
    assert_eq!(chat[0].actor.as_deref(), Some("admin@x.test"));
    assert_eq!(chat[0].user.as_deref(), Some("ada@x.test"));
    assert!(matches!(&chat[0].kind, EventKind::MfaReset { reason } if reason == "lost phone"));
    assert_eq!(sink.recent(&["other".into()], 10).await.len(), 1);
    let legacy = store.log_range("audit", mfagate::store::LogId::default(), u64::MAX, 10);
    assert!(legacy.await.unwrap().is_empty(), "the old log is emptied");
    assert_eq!(sink.move_legacy().await.unwrap(), 0, "moved once");
    assert_eq!(
        sink.recent(&["chat".into()], 10).await.len(),
        1,
        "no duplicates"
    );
}
