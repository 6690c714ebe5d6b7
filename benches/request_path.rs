//! Per-request work the gateway adds before a request goes upstream: host lookup, path
//! normalization and header sanitizing. Run: `cargo bench --bench request_path`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, Criterion};
use http::{HeaderMap, HeaderValue, Uri};
use mfagate::canon::normalize::normalize_path;
use mfagate::crypto::secret_box::KeyRing;
use mfagate::domain::{AuthMethod, Role, Who};
use mfagate::proxy::headers::sanitize_request;
use mfagate::proxy::pipeline::request_host;
use mfagate::session::revocation::RevocationView;
use mfagate::session::token::{decode_session, encode_session, SessionClaims, Stage};
use mfagate::store::StoreEvent;

/// Headers of a typical browser request to a dashboard API.
fn browser_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in [
        ("host", "chat.example.com"),
        ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"),
        ("accept", "application/json, text/plain, */*"),
        ("accept-language", "en-US,en;q=0.9"),
        ("accept-encoding", "gzip, deflate, br"),
        ("referer", "https://chat.example.com/app/accounts/1/dashboard"),
        ("cookie", "dash_session=6f1c2a9e0b7d4c3a8e5f; __Host-mfagate=v1.abcdefabcdef.0123456789; theme=dark"),
        ("connection", "keep-alive"),
        ("x-requested-with", "XMLHttpRequest"),
    ] {
        h.insert(k, HeaderValue::from_static(v));
    }
    h
}

fn bench(c: &mut Criterion) {
    let peer = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));
    c.bench_function("normalize_path/clean", |b| {
        b.iter(|| normalize_path(black_box("/api/v1/accounts/1/conversations/42/messages")))
    });
    c.bench_function("normalize_path/dirty", |b| {
        b.iter(|| normalize_path(black_box("/api//v1/./accounts/%31/../1/conversations%2D42")))
    });
    let headers = browser_headers();
    c.bench_function("sanitize_request/browser", |b| {
        b.iter_batched(
            || headers.clone(),
            |mut h| sanitize_request(&mut h, peer, "chat.example.com"),
            criterion::BatchSize::SmallInput,
        )
    });
    // The authenticated hot path: cookie signature, time limits, revocation view (10k entries).
    let keys = KeyRing::new(&[vec![3; 32], vec![4; 32]]);
    let now = 1_800_000_000;
    let claims = SessionClaims {
        sid: "k3J8dW1hX2Rldi0wMDAxMg".into(),
        env: "prod".into(),
        user: "agent.smith@example.com".into(),
        device: "Zm9vYmFyYmF6cXV4MTIzNA".into(),
        auth: AuthMethod::Pwd,
        stage: Stage::Full,
        created_at: now - 600,
        created_sub_ms: 123,
        mfa_at: Some(now - 600),
        idle_until: now + 1200,
        expires_at: now + 11 * 3600,
        who: Who {
            role: Role::Agent,
            envs: vec!["prod".into(), "staging".into()],
            factor: true,
        },
        tok: None,
    };
    let cookie = encode_session(&keys, &claims);
    let view = RevocationView::default();
    for i in 0..10_000 {
        view.apply(&StoreEvent::SessionRevoked {
            session_id: format!("revoked-{i}"),
        });
    }
    c.bench_function("session/verify_cookie_and_revocation", |b| {
        b.iter(|| {
            let c = decode_session(&keys, black_box(&cookie), now).unwrap();
            view.is_revoked(&c.sid, &c.user, c.created_ms())
        })
    });
    // The credential vault on every authenticated request: open the sealed jar, then strip
    // every spelling of the dashboard's cookie and add the bound value back.
    let jar = mfagate::session::jar::Jar {
        cookies: vec![("_chat_session".into(), "a".repeat(64))],
        ..Default::default()
    };
    let context = mfagate::session::jar::session_context(&claims.sid);
    let sealed = jar.seal(&keys, &context);
    c.bench_function("vault/open_jar", |b| {
        b.iter(|| mfagate::session::jar::Jar::open(&keys, black_box(&sealed), &context))
    });
    let mut cookie_headers = http::HeaderMap::new();
    cookie_headers.insert(
        http::header::COOKIE,
        http::HeaderValue::from_str(&format!(
            "__Host-mfagate={cookie}; __Host-mfagate-jar0={sealed}; lang=en; theme=dark"
        ))
        .unwrap(),
    );
    let names = ["_chat_session".to_string()];
    c.bench_function("vault/rewrite_cookie_header", |b| {
        b.iter_batched(
            || cookie_headers.clone(),
            |mut h| {
                let remove = |n: &[u8]| {
                    mfagate::canon::cookie::is_gateway_name(n)
                        || names.iter().any(|c| mfagate::canon::cookie::name_is(n, c))
                };
                mfagate::canon::cookie::rewrite(&mut h, &remove, &jar.cookies)
            },
            criterion::BatchSize::SmallInput,
        )
    });
    c.bench_function("canon/path_clean", |b| {
        b.iter(|| mfagate::canon::canonical(black_box("/api/v1/conversations/123/messages"), false))
    });
    c.bench_function("canon/path_folded", |b| {
        b.iter(|| mfagate::canon::canonical(black_box("/API/v1/Conversations;x/123/"), false))
    });
    let uri = Uri::from_static("/api/v1/profile");
    c.bench_function("request_host/http1", |b| {
        b.iter(|| request_host(black_box(&uri), black_box(&headers)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
