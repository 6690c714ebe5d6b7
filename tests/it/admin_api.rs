//! The admin API through the gateway: tokens by scope and environment, the session of an
//! admin, every list and action, and every answer validated against the OpenAPI document the
//! code generates (which must equal the committed `docs/admin-api.json`).

use crate::support::mfa::{enroll_pending_at, location, mfa_toml_with, Extra};
use crate::support::{start_gateway, stop, Pki};
use mfagate::proxy::RunningGateway;
use serde_json::{json, Value};

const OPS: &str = "ops-token-0123456789abcdef";
const VIEWER: &str = "viewer-token-0123456789abcdef";
const OTHER: &str = "other-token-0123456789abcdef";

fn sha256(token: &str) -> String {
    crate::support::sha256_hex(token.as_bytes())
}

struct Api {
    pki: Pki,
    gw: RunningGateway,
    doc: Value,
    toml: String,
}

impl Api {
    async fn start() -> Self {
        let pki = Pki::new();
        let dashboard = mfagate::demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
        let tokens = format!(
            "[[admin_tokens]]\nname = \"ops\"\nsha256 = \"{}\"\nscope = \"write\"\nenvironments = [\"chat\"]\n\
             [[admin_tokens]]\nname = \"viewer\"\nsha256 = \"{}\"\nscope = \"read\"\nenvironments = [\"chat\"]\n\
             [[admin_tokens]]\nname = \"other\"\nsha256 = \"{}\"\nscope = \"write\"\nenvironments = [\"other\"]\n",
            sha256(OPS),
            sha256(VIEWER),
            sha256(OTHER)
        );
        let extra = Extra {
            top: &tokens,
            ..Extra::default()
        };
        let toml = mfa_toml_with(&pki, dashboard, &["chat.test", "other.test"], &extra);
        let gw = start_gateway(&pki, &toml);
        let doc = serde_json::from_str(&mfagate::web::admin_api::openapi("/.mfagate/")).unwrap();
        Self { pki, gw, doc, toml }
    }

    fn url(&self, path: &str) -> String {
        let port = self.gw.https_addr.port();
        format!("https://chat.test:{port}/.mfagate/admin/api/v1{path}")
    }

    fn client(&self) -> reqwest::Client {
        self.pki.client(&["chat.test"], self.gw.https_addr, false)
    }

    /// The answer's JSON, checked against the document's schema `schema`.
    async fn valid(&self, resp: reqwest::Response, status: u16, schema: &str) -> Value {
        assert_eq!(resp.status(), status, "{}", resp.url());
        let body: Value = resp.json().await.unwrap();
        let errors = self.schema_errors(schema, &body);
        assert!(errors.is_empty(), "{schema}: {errors:?} in {body}");
        body
    }

    fn schema_errors(&self, schema: &str, body: &Value) -> Vec<String> {
        let root = json!({
            "$ref": format!("#/components/schemas/{schema}"),
            "components": self.doc["components"],
        });
        let validator = jsonschema::validator_for(&root).expect("the document's schemas compile");
        validator.iter_errors(body).map(|e| e.to_string()).collect()
    }

    /// A browser of agent1, signed in after enrolling; and the gateway's base URL.
    async fn agent_signed_in(&self) -> (reqwest::Client, String) {
        let browser = self.client();
        let base = format!("https://chat.test:{}", self.gw.https_addr.port());
        let login = browser
            .post(format!("{base}/login"))
            .form(&[("email", "agent1@demo.test"), ("password", "agent1-pass")])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&login), "/.mfagate/");
        let now = self.gw.auth.as_ref().unwrap().clock.now();
        enroll_pending_at(&browser, &base, now).await;
        (browser, base)
    }

    async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        let req = self.client().get(self.url(path)).bearer_auth(token);
        req.send().await.unwrap()
    }

    async fn post(&self, token: &str, path: &str) -> reqwest::Response {
        let req = self.client().post(self.url(path)).bearer_auth(token);
        req.json(&json!({"reason": "ticket 7"}))
            .send()
            .await
            .unwrap()
    }
}

#[test]
fn the_committed_document_is_the_one_the_code_generates() {
    let generated = mfagate::web::admin_api::openapi("/.mfagate/");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/admin-api.json");
    if std::env::var_os("MFAGATE_WRITE_OPENAPI").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).expect("docs/admin-api.json");
    assert_eq!(
        committed, generated,
        "docs/admin-api.json is stale: run MFAGATE_WRITE_OPENAPI=1 cargo test --test it committed_document"
    );
    let doc: Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/users",
        "/users/{user}/reset-mfa",
        "/recovery/{user}/approve",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_list_and_act_within_their_scope_and_environments() {
    let api = Api::start().await;
    let (browser, base) = api.agent_signed_in().await;

    let page = api
        .valid(api.get(VIEWER, "/users").await, 200, "UsersPage")
        .await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["users"][0]["user"], "agent1@demo.test");
    assert_eq!(page["users"][0]["totp"], true);
    let filtered = api.get(VIEWER, "/users?no_factor=true").await;
    assert_eq!(api.valid(filtered, 200, "UsersPage").await["total"], 0);
    let detail = api.get(VIEWER, "/users/agent1@demo.test").await;
    let detail = api.valid(detail, 200, "UserDetail").await;
    assert_eq!(detail["sessions"].as_array().unwrap().len(), 1);

    // Refusals, each in the documented shape.
    let read_only = api.post(VIEWER, "/users/agent1@demo.test/reset-mfa").await;
    assert_eq!(
        api.valid(read_only, 403, "ApiError").await["error"],
        "read_only"
    );
    let elsewhere = api.get(OTHER, "/users/agent1@demo.test").await;
    assert_eq!(
        api.valid(elsewhere, 404, "ApiError").await["error"],
        "not_found"
    );
    let unknown = api.get("not-a-token", "/users").await;
    assert_eq!(
        api.valid(unknown, 401, "ApiError").await["error"],
        "unauthorized"
    );
    let anonymous = api.client().get(api.url("/users")).send().await.unwrap();
    assert_eq!(
        api.valid(anonymous, 401, "ApiError").await["error"],
        "unauthorized"
    );
    let form = api
        .client()
        .post(api.url("/users/agent1@demo.test/logout"))
        .bearer_auth(OPS);
    let form = form.form(&[("reason", "x")]).send().await.unwrap();
    assert_eq!(
        api.valid(form, 415, "ApiError").await["error"],
        "json_required"
    );

    // Actions.
    let email = api
        .client()
        .post(api.url("/users/agent1@demo.test/email"))
        .bearer_auth(OPS);
    let email = email.json(&json!({"email": "nope"})).send().await.unwrap();
    assert_eq!(
        api.valid(email, 422, "ApiError").await["error"],
        "bad_address"
    );
    let email = api
        .client()
        .post(api.url("/users/agent1@demo.test/email"))
        .bearer_auth(OPS);
    let email = email
        .json(&json!({"email": "alex@new.test"}))
        .send()
        .await
        .unwrap();
    api.valid(email, 200, "ActionDone").await;
    let shown = api.valid(
        api.get(VIEWER, "/users/agent1@demo.test").await,
        200,
        "UserDetail",
    );
    assert_eq!(shown.await["user"]["email"], "alex@new.test");
    let device = detail["devices"][0]["id"].as_str().unwrap().to_string();
    let session = detail["sessions"][0]["id"].as_str().unwrap().to_string();
    let revoked = api
        .post(
            OPS,
            &format!("/users/agent1@demo.test/sessions/{session}/revoke"),
        )
        .await;
    api.valid(revoked, 200, "ActionDone").await;
    assert!(browser
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .status()
        .is_redirection());
    let forgotten = api
        .post(
            OPS,
            &format!("/users/agent1@demo.test/devices/{device}/revoke"),
        )
        .await;
    api.valid(forgotten, 200, "ActionDone").await;
    let detail = api.get(VIEWER, "/users/agent1@demo.test").await;
    let detail = api.valid(detail, 200, "UserDetail").await;
    assert_eq!(detail["devices"], json!([]), "device forgotten");
    let unblocked = api.post(OPS, "/users/agent1@demo.test/unblock").await;
    assert_eq!(api.valid(unblocked, 200, "ActionDone").await["done"], true);
    let reset = api.post(OPS, "/users/agent1@demo.test/reset-mfa").await;
    let reset = api.valid(reset, 200, "ActionDone").await;
    assert_eq!(
        reset["ended_sessions"], 0,
        "its one session was revoked before"
    );
    let auth = api.gw.auth.as_ref().unwrap();
    assert!(auth
        .records
        .totp("agent1@demo.test")
        .await
        .unwrap()
        .is_none());
    let events = auth.activity(1000).await;
    let reset_event = events
        .iter()
        .find(|e| matches!(e.kind, mfagate::audit::EventKind::MfaReset { .. }));
    let reset_event = serde_json::to_value(reset_event.unwrap()).unwrap();
    assert_eq!(reset_event["actor"], "token:ops");
    assert_eq!(reset_event["reason"], "ticket 7");
    let out = api.post(OPS, "/users/agent1@demo.test/logout").await;
    assert_eq!(api.valid(out, 200, "ActionDone").await["ended_sessions"], 0);

    let recovery = api
        .valid(api.get(VIEWER, "/recovery").await, 200, "RecoveryList")
        .await;
    assert_eq!(recovery["requests"], json!([]));
    let none = api.post(OPS, "/recovery/agent1@demo.test/approve").await;
    assert_eq!(api.valid(none, 404, "ApiError").await["error"], "not_found");
    let doc = api
        .client()
        .get(api.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    let doc: Value = doc.json().await.unwrap();
    assert_eq!(doc["servers"][0]["url"], "/.mfagate/admin/api/v1");
    stop(api.gw).await;
}

/// Runs the real `mfagate` binary off the async runtime; (exit success, stdout, stderr).
async fn mfagate(args: Vec<String>) -> (bool, String, String) {
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mfagate"))
            .args(&args)
            .output()
            .expect("the mfagate binary runs");
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_administers_through_the_api_and_on_the_store_when_the_gateway_is_down() {
    let api = Api::start().await;
    let (_browser, base) = api.agent_signed_in().await;

    let remote = |rest: &[&str]| {
        let mut args: Vec<String> = ["admin", "--url", &base, "--token", OPS, "--ca-file"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.push(api.pki.path("ca.pem").display().to_string());
        args.extend(["--connect-to".into(), api.gw.https_addr.to_string()]);
        args.extend(rest.iter().map(|s| s.to_string()));
        args
    };
    let (ok, out, err) = mfagate(remote(&["--json", "users", "list"])).await;
    assert!(ok, "{err}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed["users"][0]["user"], "agent1@demo.test", "{out}");
    let (ok, table, _) = mfagate(remote(&["users", "list"])).await;
    assert!(
        ok && table.contains("agent1@demo.test") && table.contains("USER"),
        "{table}"
    );
    let (ok, out, err) = mfagate(remote(&[
        "reset-mfa",
        "agent1@demo.test",
        "--reason",
        "lost phone",
    ]))
    .await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "done; 1 session(s) ended");
    let (ok, _, err) = mfagate(remote(&["reset-mfa", "admin@elsewhere.test"])).await;
    assert!(!ok && err.contains("404"), "{err}");

    // The store is in use while the gateway runs: direct mode says so.
    let config = api.pki.path("mfagate.toml");
    std::fs::write(&config, &api.toml).unwrap();
    let direct = |rest: &[&str]| {
        let mut args = vec![
            "admin".to_string(),
            "--config".into(),
            config.display().to_string(),
        ];
        args.extend(rest.iter().map(|s| s.to_string()));
        args
    };
    let (ok, _, err) = mfagate(direct(&["users", "list"])).await;
    assert!(!ok && err.contains("cannot open the store"), "{err}");

    // Break-glass: the gateway is down, the CLI works on the store itself.
    stop(api.gw).await;
    let (ok, out, err) = mfagate(direct(&["--json", "users", "list", "--no-factor"])).await;
    assert!(ok, "{err}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        listed["users"][0]["user"], "agent1@demo.test",
        "reset: no factor now"
    );
    let (ok, out, err) = mfagate(direct(&["--json", "users", "show", "agent1@demo.test"])).await;
    assert!(ok, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["user"]["totp"], false);
    let (ok, out, err) = mfagate(direct(&["set-email", "agent1@demo.test", "alex@new.test"])).await;
    assert!(ok && out.trim() == "done", "{out}{err}");
    let (ok, out, err) = mfagate(direct(&["unblock", "agent1@demo.test"])).await;
    assert!(ok && out.trim() == "done", "{out}{err}");
    let (ok, out, _) = mfagate(vec!["admin".into(), "token".into()]).await;
    assert!(ok && out.contains("sha256: "), "{out}");
}
