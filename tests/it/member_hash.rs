//! Customer identity verification (the member hash): a chat widget's member id reaches the
//! dashboard as verified only when its HMAC verifies, every copy a lenient dashboard could
//! read counts, a failure is refused (403 JSON) or stripped, and no client can send the
//! verified header itself. Each test asserts what reached the dashboard. Also the validation
//! of `[environments.member_hash]`, and the demo's widget boot endpoint.

use std::net::SocketAddr;

use axum::extract::Request;
use axum::Router;
use mfagate::config::Config;
use mfagate::proxy::RunningGateway;
use ring::hmac;
use serde_json::{json, Value};

use crate::support::{gateway_toml, start_gateway, stop, EnvSpec, Pki};

/// The customer's backend and the gateway share this (written to `member.secret`).
const SECRET: &str = "4f1c2a9e8b7d6c5f4e3d2c1b0a998877";
const VERIFIED: &str = "x-mfagate-member-verified";

/// `hex(HMAC-SHA256(SECRET, id))`, as the customer's backend computes it.
fn hash(id: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET.as_bytes());
    let tag = hmac::sign(&key, id.as_bytes());
    tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Id and hash in the JSON body, the query and headers alike.
fn table(on_failure: &str, extra: &str) -> String {
    format!(
        "\n[environments.member_hash]\n\
         id = [\"json:/memberId\", \"query:memberId\", \"header:X-Member-Id\"]\n\
         hash = [\"json:/memberHash\", \"query:memberHash\", \"header:X-Member-Hash\"]\n\
         paths = [\"/api/widget/boot\", \"/api/widget/v2/*\"]\n\
         secret_file = \"member.secret\"\n\
         on_failure = \"{on_failure}\"\n\
         max_body_bytes = 2048\n{extra}"
    )
}

/// A dashboard stand-in answering with what reached it: the URI, the headers, the body.
async fn body_echo() -> SocketAddr {
    async fn echo(req: Request) -> axum::Json<Value> {
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
            .collect();
        axum::Json(json!({
            "uri": parts.uri.to_string(),
            "headers": headers,
            "body": String::from_utf8_lossy(&body),
        }))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(echo);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

struct Widget {
    pki: Pki,
    gw: RunningGateway,
    client: reqwest::Client,
}

impl Widget {
    async fn start(member_hash_table: &str) -> Self {
        let pki = Pki::new();
        std::fs::write(pki.path("member.secret"), format!("{SECRET}\n")).unwrap();
        let upstream = body_echo().await;
        let env = EnvSpec {
            name: "alpha",
            hosts: &["alpha.test"],
            upstream,
        };
        let toml = gateway_toml(&pki, &[env], "") + member_hash_table;
        let gw = start_gateway(&pki, &toml);
        let client = pki.client(&["alpha.test"], gw.https_addr, false);
        Self { pki, gw, client }
    }

    fn url(&self, path_and_query: &str) -> String {
        format!(
            "https://alpha.test:{}{path_and_query}",
            self.gw.https_addr.port()
        )
    }

    /// POSTs `body` (sent as written: duplicate keys survive) as JSON.
    async fn post(&self, path: &str, body: &str) -> reqwest::Response {
        let req = self.client.post(self.url(path));
        let req = req.header("content-type", "application/json");
        req.body(body.to_string()).send().await.unwrap()
    }

    async fn get(&self, path_and_query: &str) -> reqwest::Response {
        self.client
            .get(self.url(path_and_query))
            .send()
            .await
            .unwrap()
    }

    /// A raw HTTP/1.1 request with `headers` exactly as written (repeats, `_` spellings).
    async fn raw(&self, method: &str, path: &str, headers: &str, body: &str) -> (u16, String) {
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: alpha.test\r\n{headers}\
             Content-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        let resp = self
            .pki
            .raw_http1(self.gw.https_addr, "alpha.test", &request)
            .await;
        let body = resp.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        (crate::support::raw_status(&resp), body.to_string())
    }

    async fn stop(self) {
        stop(self.gw).await;
    }
}

/// What the dashboard saw, from a forwarded answer.
async fn seen(resp: reqwest::Response) -> Value {
    assert_eq!(resp.status(), 200, "forwarded");
    resp.json().await.unwrap()
}

/// Every value of header `name` the dashboard saw.
fn header_values(seen: &Value, name: &str) -> Vec<String> {
    let pairs = seen["headers"].as_array().unwrap();
    pairs
        .iter()
        .filter(|p| p[0].as_str().unwrap().eq_ignore_ascii_case(name))
        .map(|p| p[1].as_str().unwrap().to_string())
        .collect()
}

/// Any spelling of the member id or hash the dashboard could still read: query, headers, body.
fn member_readings(seen: &Value) -> Vec<String> {
    let uri = seen["uri"].as_str().unwrap();
    let query = uri.split_once('?').map_or("", |(_, q)| q);
    let mut found = Vec::new();
    for name in ["memberId", "memberHash"] {
        let values = mfagate::canon::query::values(query, name);
        found.extend(values.into_iter().map(|v| format!("query {name}={v:?}")));
        let header = format!("x-member-{}", &name[6..].to_lowercase());
        for pair in seen["headers"].as_array().unwrap() {
            let n = pair[0].as_str().unwrap();
            if mfagate::canon::header::alike(n, &header) {
                found.push(format!("header {n}"));
            }
        }
        let body = seen["body"].as_str().unwrap();
        if !body.is_empty() {
            let pointer = vec![name.to_string()];
            let values = mfagate::canon::json::values_at(body, &pointer).unwrap();
            found.extend(values.into_iter().map(|v| format!("body {name}={v}")));
        }
    }
    found
}

async fn assert_refused(resp: reqwest::Response) {
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({"error": "member_hash_invalid"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_hash_a_verified_member_reaches_the_dashboard_in_the_verified_header() {
    let w = Widget::start(&table("refuse", "")).await;
    let body = json!({"memberId": "alice", "memberHash": hash("alice"), "page": "/pricing"});
    let s = seen(w.post("/api/widget/boot", &body.to_string()).await).await;
    assert_eq!(header_values(&s, VERIFIED), ["alice"]);
    assert_eq!(
        serde_json::from_str::<Value>(s["body"].as_str().unwrap()).unwrap(),
        body
    );

    // Upper-case hex, the query, a header, a prefix route and a format suffix all work.
    let upper = hash("alice").to_uppercase();
    let s = seen(
        w.get(&format!(
            "/api/widget/boot?memberId=alice&memberHash={upper}"
        ))
        .await,
    )
    .await;
    assert_eq!(header_values(&s, VERIFIED), ["alice"]);
    let headers = format!("X-Member-Id: bob\r\nX-Member-Hash: {}\r\n", hash("bob"));
    let (status, body) = w.raw("GET", "/api/widget/v2/session", &headers, "").await;
    assert_eq!(status, 200, "{body}");
    let s: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(header_values(&s, VERIFIED), ["bob"]);
    let s = seen(
        w.get(&format!(
            "/API/widget/boot.json?memberId=bob&memberHash={}",
            hash("bob")
        ))
        .await,
    )
    .await;
    assert_eq!(header_values(&s, VERIFIED), ["bob"]);
    // A percent-encoded id is verified decoded.
    let email = "carol@example.test";
    let q = format!(
        "/api/widget/boot?memberId=carol%40example.test&memberHash={}",
        hash(email)
    );
    assert_eq!(
        header_values(&seen(w.get(&q).await).await, VERIFIED),
        [email]
    );

    // No member claimed: the request goes on, without the header.
    let s = seen(w.post("/api/widget/boot", r#"{"page":"/"}"#).await).await;
    assert!(header_values(&s, VERIFIED).is_empty());
    assert!(header_values(&seen(w.get("/api/widget/boot").await).await, VERIFIED).is_empty());
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_hash_wrong_or_missing_hashes_are_refused_with_403_json() {
    let w = Widget::start(&table("refuse", "")).await;
    let bodies = [
        json!({"memberId": "alice", "memberHash": hash("mallory")}),
        json!({"memberId": "alice", "memberHash": "00".repeat(32)}),
        json!({"memberId": "alice", "memberHash": hash("alice")[..40]}),
        json!({"memberId": "alice"}),
        json!({"memberId": "alice", "memberHash": null}),
        // Ids and hashes are strings: a number cannot be told apart from its other spellings.
        json!({"memberId": 42, "memberHash": hash("42")}),
        json!({"memberId": "alice", "memberHash": [hash("alice")]}),
    ];
    for body in bodies {
        assert_refused(w.post("/api/widget/boot", &body.to_string()).await).await;
    }
    assert_refused(w.get("/api/widget/boot?memberId=alice").await).await;
    assert_refused(
        w.get("/api/widget/boot?memberId=alice&memberHash=nothex")
            .await,
    )
    .await;
    // The body must be one JSON document where the id may be read from it.
    assert_refused(w.post("/api/widget/boot", "memberId=alice").await).await;
    assert_refused(
        w.post("/api/widget/boot", r#"{"memberId":"alice"} {}"#)
            .await,
    )
    .await;
    // Larger than max_body_bytes: 413, not forwarded.
    let big = json!({"memberId": "alice", "memberHash": hash("alice"), "pad": "x".repeat(4096)});
    let resp = w.post("/api/widget/boot", &big.to_string()).await;
    assert_eq!(resp.status(), 413);
    // Other routes are not checked: an agent may look a member up by id.
    let s = seen(w.get("/api/members?memberId=mallory").await).await;
    assert_eq!(s["uri"], "/api/members?memberId=mallory");
    assert!(header_values(&s, VERIFIED).is_empty());
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_hash_a_client_sent_verified_header_never_reaches_the_dashboard() {
    let w = Widget::start(&table("refuse", "")).await;
    let spoof = "X-Mfagate-Member-Verified: mallory\r\nx_mfagate_member_verified: mallory\r\n";
    for path in ["/api/widget/boot", "/inbox"] {
        let (status, body) = w.raw("GET", path, spoof, "").await;
        assert_eq!(status, 200, "{body}");
        let s: Value = serde_json::from_str(&body).unwrap();
        assert!(header_values(&s, VERIFIED).is_empty(), "{path}: {body}");
        assert!(header_values(&s, "x_mfagate_member_verified").is_empty());
    }
    // With a verified member, only the gateway's value arrives.
    let claim = format!(
        "{{\"memberId\":\"alice\",\"memberHash\":\"{}\"}}",
        hash("alice")
    );
    let (status, body) = w.raw("POST", "/api/widget/boot", spoof, &claim).await;
    assert_eq!(status, 200, "{body}");
    let s: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(header_values(&s, VERIFIED), ["alice"]);
    w.stop().await;

    // A verified header of the operator's naming is guarded the same way.
    let w = Widget::start(&table("refuse", "verified_header = \"X-Widget-Member\"\n")).await;
    let spoof = "X-Widget-Member: mallory\r\nX_WIDGET_MEMBER: mallory\r\n";
    for path in ["/api/widget/boot", "/inbox"] {
        let (_, body) = w.raw("GET", path, spoof, "").await;
        let s: Value = serde_json::from_str(&body).unwrap();
        assert!(member_readings(&s).is_empty());
        let names: Vec<&str> = s["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[0].as_str().unwrap())
            .collect();
        assert!(
            !names
                .iter()
                .any(|n| mfagate::canon::header::alike(n, "x-widget-member")),
            "{names:?}"
        );
    }
    let (_, body) = w.raw("POST", "/api/widget/boot", spoof, &claim).await;
    let s: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(header_values(&s, "x-widget-member"), ["alice"]);
    assert!(header_values(&s, VERIFIED).is_empty());
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_hash_strip_mode_forwards_without_any_copy_of_the_id() {
    let w = Widget::start(&table("strip", "")).await;
    let path = "/api/widget/boot?memberId=mallory&keep=1&memberHash=bad;MEMBERID=x";
    let headers = "X-Member-Id: mallory\r\nX_Member_Hash: bad\r\n";
    let body = r#"{"memberId":"mallory", "text":"hi", "MemberId":"m2","memberHash":"bad"}"#;
    let (status, answer) = w.raw("POST", path, headers, body).await;
    assert_eq!(status, 200, "{answer}");
    let s: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(s["uri"], "/api/widget/boot?keep=1");
    assert_eq!(s["body"], r#"{"text":"hi"}"#);
    assert!(member_readings(&s).is_empty(), "{:?}", member_readings(&s));
    assert!(header_values(&s, VERIFIED).is_empty());
    // The body's length is the stripped one.
    assert_eq!(header_values(&s, "content-length"), ["13"]);

    // A verified member is forwarded as it came, and told.
    let body = json!({"memberId": "alice", "memberHash": hash("alice")}).to_string();
    let s = seen(w.post("/api/widget/boot", &body).await).await;
    assert_eq!(header_values(&s, VERIFIED), ["alice"]);
    assert_eq!(s["body"], body);
    // What cannot be read cannot be stripped: refused even here.
    assert_refused(w.post("/api/widget/boot", "not json").await).await;
    w.stop().await;
}

/// Every way a lenient dashboard could read a second id next to a verified one: each is
/// refused, and in strip mode forwarded with no reading of any id left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_hash_lenient_duplicates_and_encodings_cannot_smuggle_an_unverified_id() {
    let h = hash("alice");
    let queries = [
        format!("memberId=alice&memberHash={h}&memberId=mallory"),
        format!("memberId=mallory&memberId=alice&memberHash={h}"),
        format!("memberId=alice&memberHash={h}&member%49d=mallory"),
        format!("memberId=alice&memberHash={h}&MEMBERID=mallory"),
        format!("memberId=alice&memberHash={h}&memberId[]=mallory"),
        format!("memberId=alice&memberHash={h}&x=1;memberId=mallory"),
        format!("memberId=alice;memberId=mallory&memberHash={h}"),
        format!("memberId=alice&memberHash={h}&%20memberId=mallory"),
        // `+` is a space to some decoders only: the readings differ.
        format!("memberId=al+ice&memberHash={}", hash("al+ice")),
        // A second hash that does not verify.
        format!(
            "memberId=alice&memberHash={h}&memberHash={}",
            hash("mallory")
        ),
    ];
    let verified_body = format!("{{\"memberId\":\"alice\",\"memberHash\":\"{h}\"");
    let bodies = [
        format!("{verified_body},\"memberId\":\"mallory\"}}"),
        format!("{{\"memberId\":\"mallory\",{}", &verified_body[1..]) + "}",
        format!("{verified_body},\"MemberID\":\"mallory\"}}"),
        format!("{verified_body},\"member\\u0049d\":\"mallory\"}}"),
    ];
    let headers = [
        format!("X-Member-Id: alice\r\nX-Member-Hash: {h}\r\nX-Member-Id: mallory\r\n"),
        format!("X-Member-Id: alice\r\nX-Member-Hash: {h}\r\nX_Member_Id: mallory\r\n"),
        format!("X-Member-Id: alice, mallory\r\nX-Member-Hash: {h}\r\n"),
        // One location verified, another carrying a different id.
        format!("X-Member-Id: mallory\r\nX-Member-Hash: {h}\r\n"),
    ];
    let cross = format!("/api/widget/boot?memberId=alice&memberHash={h}");
    let mallory_body = r#"{"memberId":"mallory"}"#;

    let w = Widget::start(&table("refuse", "")).await;
    for q in &queries {
        assert_refused(w.get(&format!("/api/widget/boot?{q}")).await).await;
    }
    for b in &bodies {
        assert_refused(w.post("/api/widget/boot", b).await).await;
    }
    for hs in &headers {
        let (status, body) = w
            .raw("POST", "/api/widget/boot", hs, &verified_body_with(&h))
            .await;
        assert_eq!(
            (status, body.as_str()),
            (403, r#"{"error":"member_hash_invalid"}"#),
            "{hs}"
        );
    }
    assert_refused(w.post(&cross, mallory_body).await).await;
    w.stop().await;

    let w = Widget::start(&table("strip", "")).await;
    for q in &queries {
        let s = seen(w.get(&format!("/api/widget/boot?{q}")).await).await;
        assert!(
            member_readings(&s).is_empty(),
            "{q}: {:?}",
            member_readings(&s)
        );
        assert!(header_values(&s, VERIFIED).is_empty());
    }
    for b in &bodies {
        let s = seen(w.post("/api/widget/boot", b).await).await;
        assert!(
            member_readings(&s).is_empty(),
            "{b}: {:?}",
            member_readings(&s)
        );
        assert!(header_values(&s, VERIFIED).is_empty());
    }
    for hs in &headers {
        let (status, body) = w.raw("POST", "/api/widget/boot", hs, "{}").await;
        assert_eq!(status, 200, "{body}");
        let s: Value = serde_json::from_str(&body).unwrap();
        assert!(
            member_readings(&s).is_empty(),
            "{hs}: {:?}",
            member_readings(&s)
        );
        assert!(header_values(&s, VERIFIED).is_empty());
    }
    let s = seen(w.post(&cross, mallory_body).await).await;
    assert!(member_readings(&s).is_empty(), "{:?}", member_readings(&s));
    w.stop().await;
}

/// A body with the verified claim, for header cases (the body alone would verify).
fn verified_body_with(h: &str) -> String {
    format!("{{\"memberId\":\"alice\",\"memberHash\":\"{h}\"}}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_hash_the_demo_widget_boot_tells_the_verified_member() {
    use mfagate::demo;
    let base = tempfile::tempdir().unwrap();
    let base = base.path();
    demo::ensure_dev_certificate(&base.join(demo::DEV_CERT_DIR)).unwrap();
    demo::ensure_master_key(&base.join(demo::DEMO_KEY_FILE)).unwrap();
    let secret_file = base.join(demo::DEMO_MEMBER_HASH_FILE);
    demo::ensure_member_hash_secret(&secret_file).unwrap();
    let secret = std::fs::read_to_string(&secret_file).unwrap();
    assert_eq!(secret.len(), 64, "32 random bytes in hex");
    let dashboard = demo::spawn_dashboard("127.0.0.1:0".parse().unwrap()).unwrap();
    let listen = Some("127.0.0.1:0".parse().unwrap());
    let config = demo::demo_config(base, dashboard, listen).unwrap();
    let gw = mfagate::proxy::start(config).unwrap();
    let cert = std::fs::read(base.join("certs/dev/localhost.pem")).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&cert).unwrap())
        .resolve("localhost", gw.https_addr)
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/api/widget/boot", gw.https_addr.port());
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let tag = hmac::sign(&key, b"member-7");
    let good: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();

    let boot = |body: Value| client.post(&url).json(&body).send();
    let answer: Value = boot(json!({"memberId": "member-7", "memberHash": good}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        answer,
        json!({"verified": true, "member_id": "member-7", "claimed_member_id": "member-7"})
    );
    let refused = boot(json!({"memberId": "member-7", "memberHash": hash("member-7")}));
    assert_refused(refused.await.unwrap()).await;
    let anonymous: Value = boot(json!({})).await.unwrap().json().await.unwrap();
    assert_eq!(
        anonymous,
        json!({"verified": false, "member_id": null, "claimed_member_id": null})
    );
    stop(gw).await;
}

/// `base` with `[environments.member_hash]` made of `keys`, validated.
fn validate(pki: &Pki, keys: &str) -> Result<Config, Vec<String>> {
    let env = EnvSpec {
        name: "prod",
        hosts: &["chat.test"],
        upstream: "127.0.0.1:1".parse().unwrap(),
    };
    let toml = gateway_toml(pki, &[env], "") + "\n[environments.member_hash]\n" + keys;
    Config::from_toml(&toml, pki.dir.path())
        .map_err(|e| e.0.iter().map(ToString::to_string).collect())
}

fn assert_error(pki: &Pki, keys: &str, prefix: &str) {
    match validate(pki, keys) {
        Ok(_) => panic!("accepted:\n{keys}"),
        Err(errs) => assert!(
            errs.iter().any(|e| e.starts_with(prefix)),
            "expected an error starting with {prefix:?} for\n{keys}\ngot {errs:#?}"
        ),
    }
}

#[test]
fn member_hash_settings_are_validated_with_key_paths() {
    let pki = Pki::new();
    std::fs::write(pki.path("member.secret"), format!("{SECRET}\n")).unwrap();
    std::fs::write(pki.path("short.secret"), "0123456789\n").unwrap();
    std::fs::write(pki.path("empty.secret"), "\n  \n").unwrap();
    let ok = concat!(
        "id = \"json:/memberId\"\n",
        "hash = \"json:/memberHash\"\n",
        "paths = [\"/api/widget/boot\"]\n",
        "secret_file = \"member.secret\"\n",
    );
    let config = validate(&pki, ok).unwrap_or_else(|e| panic!("{e:#?}"));
    let m = config.environments[0].member_hash.as_ref().unwrap();
    assert_eq!(
        m.on_failure,
        mfagate::federation::member_hash::OnFailure::Refuse
    );
    assert_eq!(m.verified_header, "x-mfagate-member-verified");
    assert_eq!(m.max_body_bytes, 65536);
    assert!(m.inspects("/api/widget/boot") && !m.inspects("/api/widget"));
    assert!(
        !format!("{m:?}").contains(SECRET),
        "the secret is never printed"
    );
    std::env::set_var("MFAGATE_TEST_MEMBER_HASH_SECRET", SECRET);
    let from_env = concat!(
        "id = [\"query:memberId\", \"header:X-Member-Id\"]\n",
        "hash = [\"query:memberHash\"]\n",
        "paths = [\"/w/*\"]\n",
        "secret_env = \"MFAGATE_TEST_MEMBER_HASH_SECRET\"\n",
        "on_failure = \"strip\"\n",
    );
    validate(&pki, from_env).unwrap_or_else(|e| panic!("{e:#?}"));

    let key = "environments[0].member_hash";
    // (text of `ok` to replace, or "" to append; what replaces it; the error after `key`)
    let cases: &[(&str, &str, &str)] = &[
        (
            "\"json:/memberId\"",
            "\"memberId\"",
            ".id: \"memberId\" is not KIND:NAME",
        ),
        (
            "\"json:/memberId\"",
            "[\"query:a\", \"cookie:b\"]",
            ".id[1]: \"cookie\" is not \"query\", \"header\" or \"json\"",
        ),
        (
            "\"json:/memberHash\"",
            "\"json:memberHash\"",
            ".hash: \"memberHash\" is not a JSON pointer",
        ),
        (
            "\"json:/memberHash\"",
            "[\"header:bad header\"]",
            ".hash[0]: \"bad header\" is not a header name",
        ),
        (
            "\"json:/memberHash\"",
            "[]",
            ".hash: name at least one location",
        ),
        ("\"json:/memberHash\"", "7", ".hash: a location like"),
        (
            "[\"/api/widget/boot\"]",
            "[]",
            ".paths: name at least one route",
        ),
        (
            "[\"/api/widget/boot\"]",
            "[\"api/*/x\"]",
            ".paths[0]: \"api/*/x\" must be a path",
        ),
        (
            "",
            "secret_env = \"MFAGATE_TEST_MEMBER_HASH_SECRET\"",
            ".secret_file: set secret_file or secret_env, not both",
        ),
        (
            "secret_file = \"member.secret\"",
            "",
            ": set secret_file or secret_env",
        ),
        (
            "member.secret",
            "missing.secret",
            ".secret_file: cannot read",
        ),
        (
            "member.secret",
            "short.secret",
            ".secret_file: the secret is too short: at least 32 bytes",
        ),
        (
            "member.secret",
            "empty.secret",
            ".secret_file: the secret is empty",
        ),
        (
            "secret_file = \"member.secret\"",
            "secret_env = \"HOME\"",
            ".secret_env: environment variable \"HOME\" must start with MFAGATE_",
        ),
        (
            "secret_file = \"member.secret\"",
            "secret_env = \"MFAGATE_TEST_UNSET_MEMBER_SECRET\"",
            ".secret_env: environment variable MFAGATE_TEST_UNSET_MEMBER_SECRET is not set",
        ),
        (
            "",
            "on_failure = \"ignore\"",
            ".on_failure: \"ignore\" is not \"refuse\" or \"strip\"",
        ),
        (
            "",
            "verified_header = \"bad header\"",
            ".verified_header: \"bad header\" is not a header name",
        ),
        (
            "\"json:/memberId\"",
            "\"header:X-Member\"\nverified_header = \"x_member\"",
            ".verified_header: \"x_member\" is also a location",
        ),
        (
            "",
            "max_body_bytes = 100",
            ".max_body_bytes: must be between 1024 and 1048576",
        ),
    ];
    for (from, to, error) in cases {
        let keys = match from.is_empty() {
            true => format!("{ok}{to}\n"),
            false => ok.replace(from, to),
        };
        assert_error(&pki, &keys, &format!("{key}{error}"));
    }
    let with = |line: &str| format!("{ok}{line}\n");
    // The secret is never written in the file.
    let inline = with(&format!("secret = \"{SECRET}\""));
    let errs = validate(&pki, &inline).unwrap_err();
    assert!(
        errs[0].starts_with(key) && errs[0].contains("unknown field `secret`"),
        "{errs:?}"
    );
    // Every problem at once.
    let many = "id = \"x\"\nhash = \"json:y\"\non_failure = \"no\"\n";
    assert!(validate(&pki, many).unwrap_err().len() >= 4);
}

/// The commented example in the reference config, uncommented, is a valid table.
#[test]
fn member_hash_reference_config_example_is_valid() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/mfagate.toml"))
        .unwrap();
    let start = text
        .find("# [environments.member_hash]\n")
        .expect("documented");
    let block: Vec<&str> = text[start..]
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with('#'))
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| {
            let key = l.split_once(" = ").map(|(k, _)| k);
            key.is_some_and(|k| k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        })
        .filter(|l| !l.starts_with("secret_env"))
        .collect();
    let keys = block
        .join("\n")
        .replace("/etc/mfagate/member-hash.secret", "member.secret");
    for key in [
        "id",
        "hash",
        "paths",
        "secret_file",
        "on_failure",
        "verified_header",
        "max_body_bytes",
    ] {
        assert!(keys.contains(&format!("{key} = ")), "{key} is documented");
    }
    let pki = Pki::new();
    std::fs::write(pki.path("member.secret"), SECRET).unwrap();
    validate(&pki, &format!("{keys}\n")).unwrap_or_else(|e| panic!("{keys}\n{e:#?}"));
}
