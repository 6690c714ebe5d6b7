//! HTTP behaviour of the data plane through real TLS: both HTTP versions, streaming bodies,
//! environments by host and SNI, header hygiene, path normalization, redirects and errors.

use std::time::Duration;

use crate::support::{
    gateway_toml, raw_status, start_gateway, stop, upstream, EnvSpec, OneEnv, Pki,
};
use rustls::pki_types::pem::PemObject;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_and_post_over_http1_and_http2() {
    let t = OneEnv::start("").await;
    for h2 in [false, true] {
        let client = t.client(h2);
        let url = format!("https://alpha.test:{}/hello?x=1", t.gw.https_addr.port());
        let resp = client.get(&url).send().await.unwrap();
        let want = if h2 {
            reqwest::Version::HTTP_2
        } else {
            reqwest::Version::HTTP_11
        };
        assert_eq!(resp.version(), want);
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()["strict-transport-security"],
            "max-age=31536000"
        );
        let echo: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(echo["uri"], "/hello?x=1");
        assert_eq!(echo["method"], "GET");
        // Upstream always speaks HTTP/1.1 and sees the client's Host.
        assert_eq!(echo["version"], "HTTP/1.1");
        let authority = format!("alpha.test:{}", t.gw.https_addr.port());
        assert_eq!(header(&echo, "host"), Some(authority.clone()));
        assert_eq!(header(&echo, "x-forwarded-host"), Some(authority));

        let resp = client.post(&url).body("payload").send().await.unwrap();
        let echo: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(echo["method"], "POST");
    }
    t.stop().await;
}

fn header(echo: &serde_json::Value, name: &str) -> Option<String> {
    echo["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == name)
        .map(|h| h[1].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_mib_bodies_stream_both_ways_with_matching_hashes() {
    let t = OneEnv::start("").await;
    const SIZE: usize = 10 * 1024 * 1024;
    let body: Vec<u8> = (0..SIZE).map(upstream::pattern).collect();
    let want = format!("{SIZE} {}", crate::support::sha256_hex(&body));
    for h2 in [false, true] {
        let client = t.client(h2);
        let base = format!("https://alpha.test:{}", t.gw.https_addr.port());
        let got =
            crate::support::text(client.post(format!("{base}/sha256")).body(body.clone())).await;
        assert_eq!(got, want, "upload h2={h2}");
        let downloaded = client
            .get(format!("{base}/bytes/{SIZE}"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(downloaded.len(), SIZE);
        assert_eq!(
            crate::support::sha256_hex(&downloaded),
            crate::support::sha256_hex(&body),
            "download h2={h2}"
        );
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sni_selects_environment_certificate_and_unknown_hosts_get_421() {
    let pki = Pki::new();
    let (ua, ub) = (upstream::start("a").await, upstream::start("b").await);
    let toml = gateway_toml(
        &pki,
        &[
            EnvSpec {
                name: "alpha",
                hosts: &["alpha.test"],
                upstream: ua.addr,
            },
            EnvSpec {
                name: "beta",
                hosts: &["beta.test", "beta2.test"],
                upstream: ub.addr,
            },
        ],
        "",
    );
    let leaf_a = std::fs::read(pki.path("alpha.pem")).unwrap();
    let leaf_b = std::fs::read(pki.path("beta.pem")).unwrap();
    let gw = start_gateway(&pki, &toml);
    for (sni, leaf) in [
        ("alpha.test", &leaf_a),
        ("beta.test", &leaf_b),
        ("beta2.test", &leaf_b),
    ] {
        let tls = pki
            .connect(gw.https_addr, sni, &[b"http/1.1"])
            .await
            .unwrap();
        let presented = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
        let expected = rustls::pki_types::CertificateDer::from_pem_slice(leaf).unwrap();
        assert_eq!(presented, expected, "certificate for {sni}");
    }
    let client = pki.client(&["alpha.test", "beta.test"], gw.https_addr, false);
    for (host, want) in [("alpha.test", "a"), ("beta.test", "b")] {
        let echo: serde_json::Value =
            crate::support::json(client.get(format!("https://{host}:{}/", gw.https_addr.port())))
                .await;
        assert_eq!(echo["upstream"], want, "routed by host {host}");
    }
    // A known SNI with an unknown Host, or a Host of another environment: never routed.
    for host in ["unknown.test", "beta.test"] {
        let resp = pki
            .raw_http1(
                gw.https_addr,
                "alpha.test",
                &format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
            )
            .await;
        assert_eq!(raw_status(&resp), 421, "Host {host} on alpha's connection");
    }
    // A TLS name no environment serves gets no certificate at all.
    assert!(pki
        .connect(gw.https_addr, "unknown.test", &[b"http/1.1"])
        .await
        .is_err());
    assert_eq!(ua.requests() + ub.requests(), 2);
    stop(gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofed_identity_headers_never_reach_the_upstream() {
    let t = OneEnv::start("").await;
    let spoofed = [
        "X-Forwarded-User",
        "x-forwarded-user",
        "X_FORWARDED_USER",
        "x_forwarded_email",
        "X-Forwarded-Email",
        "X-Auth-Request-User",
        "x_auth_request_user",
        "X-AUTH-REQUEST-EMAIL",
        "x_Auth_Request_Email",
        "Remote-User",
        "REMOTE_USER",
        "X-Remote-User",
        "x_remote_user",
        "X-Mfagate-Assertion",
        "x_mfagate_assertion",
    ];
    let mut request = String::from("GET /echo HTTP/1.1\r\nHost: alpha.test\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nCookie: __Host-mfagate=forged; dash_session=keep\r\nX-Forwarded-For: 203.0.113.9\r\n");
    for name in spoofed {
        request.push_str(&format!("{name}: admin@example.com\r\n"));
    }
    request.push_str("\r\n");
    let resp = t
        .pki
        .raw_http1(t.gw.https_addr, "alpha.test", &request)
        .await;
    assert_eq!(raw_status(&resp), 200, "{resp}");
    let json = &resp[resp.find('{').unwrap()..resp.rfind('}').unwrap() + 1];
    let echo: serde_json::Value = serde_json::from_str(json).unwrap();
    let names: Vec<String> = echo["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h[0].as_str().unwrap().to_string())
        .collect();
    for name in &names {
        let canon = name.replace('_', "-");
        assert!(
            ![
                "x-forwarded-user",
                "x-forwarded-email",
                "x-auth-request-user",
                "x-auth-request-email",
                "remote-user",
                "x-remote-user",
                "x-mfagate-assertion",
                "x-hop"
            ]
            .contains(&canon.as_str()),
            "{name} reached the upstream"
        );
    }
    assert_eq!(
        header(&echo, "cookie").as_deref(),
        Some("dash_session=keep")
    );
    assert_eq!(
        header(&echo, "x-forwarded-for").as_deref(),
        Some("203.0.113.9, 127.0.0.1")
    );
    assert_eq!(header(&echo, "x-forwarded-proto").as_deref(), Some("https"));
    assert_eq!(
        header(&echo, "x-forwarded-host").as_deref(),
        Some("alpha.test")
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normalized_path_is_what_goes_upstream_and_bad_encodings_are_400() {
    let t = OneEnv::start("").await;
    let cases = [
        ("/a/../echo", Some("/echo")),
        ("//echo//x", Some("/echo/x")),
        ("/%2e%2e/echo", Some("/echo")),
        ("/x/%2E%2E/echo?q=%2f", Some("/echo?q=%2f")),
        ("/%65cho", Some("/echo")),
        ("/a%2fb", None),
        ("/a%5cb", None),
        ("/%00", None),
        ("/%zz", None),
        ("/a\\b", None),
    ];
    for (path, want) in cases {
        let resp = t.raw_get("alpha.test", path, "").await;
        match want {
            Some(uri) => {
                assert_eq!(raw_status(&resp), 200, "{path}: {resp}");
                assert!(
                    resp.contains(&format!("\"uri\":\"{uri}\"")),
                    "{path}: {resp}"
                );
            }
            None => assert_eq!(raw_status(&resp), 400, "{path}: {resp}"),
        }
    }
    // Requests refused at normalization never reached the upstream.
    assert_eq!(t.up.requests(), 5);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_routes_are_served_in_process() {
    let t = OneEnv::start("").await;
    let client = t.client(true);
    let base = format!("https://alpha.test:{}", t.gw.https_addr.port());
    let health = client
        .get(format!("{base}/.mfagate/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");
    for path in ["/.mfagate/nothing", "/.mfagate", "/x/../.mfagate/nothing"] {
        let resp = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
    }
    assert_eq!(
        t.up.requests(),
        0,
        "gateway paths must never reach the upstream"
    );
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_redirects_with_308_to_https() {
    let t = OneEnv::start("http_listen = \"127.0.0.1:0\"\npublic_https_port = 443").await;
    let http = t.gw.http_addr.expect("http listener");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .resolve("alpha.test", http)
        .resolve("evil.test", http)
        .build()
        .unwrap();
    let resp = client
        .get(format!("http://alpha.test:{}/inbox?x=1", http.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 308);
    assert_eq!(resp.headers()["location"], "https://alpha.test/inbox?x=1");
    let resp = client
        .get(format!("http://evil.test:{}/", http.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        421,
        "no redirect for hosts the gateway does not serve"
    );
    assert_eq!(t.up.requests(), 0);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_failures_are_502_and_504_pages() {
    let pki = Pki::new();
    let up = upstream::start("a").await;
    // A port with nothing listening: bind, note it, close it.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let toml = gateway_toml(
        &pki,
        &[
            EnvSpec {
                name: "alpha",
                hosts: &["alpha.test"],
                upstream: up.addr,
            },
            EnvSpec {
                name: "down",
                hosts: &["down.test"],
                upstream: dead,
            },
        ],
        "[timeouts]\nupstream_response_secs = 1",
    );
    let gw = start_gateway(&pki, &toml);
    let client = pki.client(&["alpha.test", "down.test"], gw.https_addr, false);
    let port = gw.https_addr.port();
    let resp = client
        .get(format!("https://down.test:{port}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = resp.text().await.unwrap();
    assert!(page.contains("down chat"), "branded page: {page}");
    let resp = client
        .get(format!("https://down.test:{port}/api"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], 502);
    let resp = client
        .get(format!("https://alpha.test:{port}/slow/3000"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 504);
    stop(gw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_request_headers_get_431() {
    let t = OneEnv::start("[limits]\nmax_request_header_bytes = 16384").await;
    let big = "x".repeat(20_000);
    let resp = t
        .raw_get("alpha.test", "/", &format!("X-Big: {big}\r\n"))
        .await;
    assert_eq!(raw_status(&resp), 431);
    let client = t.client(true);
    let resp = client.get(t.url("/")).header("x-big", big).send().await;
    // HTTP/2 refuses the oversized header list (status 431 or a stream reset).
    match resp {
        Ok(r) => assert_eq!(r.status(), 431),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    assert_eq!(t.up.requests(), 0);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_are_closed() {
    let t = OneEnv::start("[timeouts]\nidle_secs = 1").await;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tls = t
        .pki
        .connect(t.gw.https_addr, "alpha.test", &[b"http/1.1"])
        .await
        .unwrap();
    tls.write_all(b"GET /echo HTTP/1.1\r\nHost: alpha.test\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 65536];
    let n = tls.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Nothing more is sent: the gateway closes the connection after ~1 s of idleness.
    let closed = tokio::time::timeout(Duration::from_secs(4), async {
        loop {
            match tls.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "idle connection was not closed");
    t.stop().await;
}

/// An idle HTTP/1.1 keep-alive connection rests (only its TLS stream is kept, hyper's buffers
/// are released) and the next request on it is answered as usual. A request in flight or a
/// streamed answer that pauses longer than the rest delay never rests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_http1_connections_rest_and_wake_on_the_next_request() {
    let t = OneEnv::start("").await;
    let resting = || async {
        let metrics = reqwest::Client::new().get(format!("http://{}/metrics", t.gw.admin_addr));
        let metrics = crate::support::text(metrics).await;
        let line = metrics
            .lines()
            .find(|l| l.starts_with("mfagate_resting_connections "));
        line.and_then(|l| l.split(' ').nth(1)?.parse::<u64>().ok())
            .unwrap()
    };
    let mut tls = t
        .pki
        .connect(t.gw.https_addr, "alpha.test", &[b"http/1.1"])
        .await
        .unwrap();
    assert!(ask(&mut tls, "/echo", "\"upstream\"")
        .await
        .starts_with("HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_millis(1800)).await;
    assert_eq!(resting().await, 1, "a quiet keep-alive connection rests");
    for _ in 0..2 {
        assert!(ask(&mut tls, "/echo", "\"upstream\"")
            .await
            .starts_with("HTTP/1.1 200"));
        assert_eq!(resting().await, 0);
    }

    let slow = tokio::spawn(async move {
        let answer = ask(&mut tls, "/slow/2500", "slow done").await;
        let dripped = ask(&mut tls, "/drip/3/1600", "drip 2").await;
        (answer, dripped, tls)
    });
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(1300)).await;
        assert_eq!(resting().await, 0, "a request in flight never rests");
    }
    let (answer, dripped, tls) = slow.await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        dripped.contains("drip 0") && dripped.contains("drip 1"),
        "{dripped}"
    );
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(resting().await, 1);
    drop(tls);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        resting().await,
        0,
        "a client closing a resting connection ends it"
    );
    t.stop().await;
}

/// Sends `GET path` on a kept-alive connection and reads until the answer contains `end`.
async fn ask(
    tls: &mut tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    path: &str,
    end: &str,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let head = format!("GET {path} HTTP/1.1\r\nHost: alpha.test\r\n\r\n");
    tls.write_all(head.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    while !String::from_utf8_lossy(&got).contains(end) {
        let n = tls.read(&mut buf).await.unwrap();
        assert!(
            n > 0,
            "connection closed after {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_endpoints_report_health_readiness_and_metrics() {
    let t = OneEnv::start("").await;
    let client = t.client(false);
    client.get(t.url("/")).send().await.unwrap();
    // A failed handshake is counted.
    let _ = t
        .pki
        .connect(t.gw.https_addr, "nobody.test", &[b"http/1.1"])
        .await;
    let admin = format!("http://{}", t.gw.admin_addr);
    let plain = reqwest::Client::new();
    assert_eq!(
        plain
            .get(format!("{admin}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Readiness flips on once every worker accepts.
    let mut ready = false;
    for _ in 0..50 {
        if plain
            .get(format!("{admin}/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ready);
    let metrics = crate::support::text(plain.get(format!("{admin}/metrics"))).await;
    for needle in [
        "mfagate_requests_total{environment=\"alpha\",class=\"2xx\"} 1",
        "mfagate_upstream_duration_seconds_count{environment=\"alpha\"} 1",
        "mfagate_tls_handshake_failures_total 1",
        "mfagate_active_connections",
        "mfagate_active_websockets 0",
        "mfagate_log_lines_dropped_total 0",
    ] {
        assert!(metrics.contains(needle), "missing {needle} in\n{metrics}");
    }
    let gw_admin = t.gw.admin_addr;
    t.stop().await;
    assert!(plain
        .get(format!("http://{gw_admin}/healthz"))
        .send()
        .await
        .is_err());
}

/// An https upstream is verified: trusted through `upstream_ca_file`, refused (502) when its
/// certificate chains to nothing the gateway trusts, accepted blindly only with the explicit
/// `upstream_insecure_skip_verify`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_upstream_certificates_are_verified() {
    let pki = Pki::new();
    // The upstream's certificate names 127.0.0.1, the address the gateway dials.
    pki.leaf("upstream", &["127.0.0.1"]);
    let up = upstream::start_tls("secure", pki.server_tls("upstream")).await;
    let mut toml = gateway_toml(
        &pki,
        &[
            EnvSpec {
                name: "trusted",
                hosts: &["trusted.test"],
                upstream: up.addr,
            },
            EnvSpec {
                name: "untrusted",
                hosts: &["untrusted.test"],
                upstream: up.addr,
            },
            EnvSpec {
                name: "blind",
                hosts: &["blind.test"],
                upstream: up.addr,
            },
        ],
        "",
    );
    toml = toml.replace("upstream = \"http://", "upstream = \"https://");
    toml = toml.replace(
        "name = \"trusted\"\n",
        "name = \"trusted\"\nupstream_ca_file = \"ca.pem\"\n",
    );
    toml = toml.replace(
        "name = \"blind\"\n",
        "name = \"blind\"\nupstream_insecure_skip_verify = true\n",
    );
    let gw = start_gateway(&pki, &toml);
    let client = pki.client(
        &["trusted.test", "untrusted.test", "blind.test"],
        gw.https_addr,
        false,
    );
    let port = gw.https_addr.port();
    for (host, want) in [
        ("trusted.test", 200),
        ("untrusted.test", 502),
        ("blind.test", 200),
    ] {
        let resp = client
            .get(format!("https://{host}:{port}/echo"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), want, "{host}");
    }
    assert_eq!(
        up.requests(),
        2,
        "the unverified upstream never received the request"
    );
    stop(gw).await;
}

/// A second gateway on an address the first one listens on refuses to start, naming the
/// listener: with SO_REUSEPORT it would otherwise join the first one's sockets and silently
/// take part of its traffic. The same holds for the admin listener.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_gateway_on_a_taken_address_refuses_to_start() {
    let first = OneEnv::start("").await;
    let (toml, pki) = (&first.toml, &first.pki);
    let on = |key: &str, addr: std::net::SocketAddr| {
        let taken = toml.replacen(
            &format!("{key} = \"127.0.0.1:0\""),
            &format!("{key} = \"{addr}\""),
            1,
        );
        assert_ne!(&taken, toml, "the test config sets {key}");
        let config = mfagate::config::Config::from_toml(&taken, pki.dir.path()).unwrap();
        match mfagate::proxy::start(config) {
            Ok(_) => panic!("a second gateway started on the taken {key} {addr}"),
            Err(e) => e.to_string(),
        }
    };
    let https = on("listen", first.gw.https_addr);
    assert!(
        https.contains(&first.gw.https_addr.to_string()) && https.contains("already listening"),
        "{https}"
    );
    let admin = on("admin_listen", first.gw.admin_addr);
    assert!(
        admin.contains("(admin)") && admin.contains("already listening"),
        "{admin}"
    );
    // The first gateway still serves.
    let status = first.client(false).get(first.url("/")).send().await;
    assert_eq!(status.unwrap().status(), 200);
    first.stop().await;
}

/// With `preserve_host = false` the dashboard's redirects name its own address; the browser
/// gets the gateway's public origin instead (Location and Refresh). With the default
/// (`preserve_host = true`) the dashboard already builds them from the public Host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_to_the_upstream_address_are_rewritten_to_the_public_origin() {
    let t = OneEnv::start_edited("", |toml, up| {
        let internal = format!("upstream = \"http://{}\"", up.addr);
        assert!(toml.contains(&internal));
        toml.replacen(&internal, &format!("{internal}\npreserve_host = false"), 1)
    })
    .await;
    let port = t.gw.https_addr.port();
    let client = t.client(false);
    let resp = client
        .get(format!("https://alpha.test:{port}/redirect"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let header = |name: &str| resp.headers()[name].to_str().unwrap().to_string();
    assert_eq!(
        header("location"),
        format!("https://alpha.test:{port}/landing?x=1")
    );
    assert_eq!(
        header("refresh"),
        format!("3; url=https://alpha.test:{port}/later")
    );
    assert!(!header("location").contains(&t.up.addr.to_string()));
    t.stop().await;
}
