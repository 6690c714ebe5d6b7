//! Config reload: under load, with a WebSocket open, five reloads change the policy and no
//! request fails, the tunnel stays, and the next request sees the new policy. A refused
//! reload changes nothing and says why. Through the binary: `mfagate reload` (SIGHUP) and a
//! certificate renewed on disk.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use mfagate::config::Config;
use mfagate::proxy::reload::ReloadError;
use tokio_tungstenite::tungstenite::Message;

use crate::support::mfa::{config_head, environment};
use crate::support::{start_gateway, stop, upstream, Pki};

/// One environment `alpha` watching a login in front of the echo upstream; `anonymous`
/// ("allow" or "deny") is the policy the reloads switch.
fn config(pki: &Pki, up: std::net::SocketAddr, anonymous: &str, top: &str) -> String {
    let login = format!("anonymous = \"{anonymous}\"\n");
    config_head(pki, top) + &environment(pki, up, "alpha.test", "required", "", &login)
}

fn parse(pki: &Pki, toml: &str) -> Config {
    Config::from_toml(toml, pki.dir.path()).unwrap_or_else(|e| panic!("{e}"))
}

/// Whether an anonymous page load reaches the dashboard (the echo answers 200) or is
/// refused by `anonymous = "deny"` (sent to the login page).
async fn anonymous_reaches(client: &reqwest::Client, port: u16) -> bool {
    let resp = client
        .get(format!("https://alpha.test:{port}/inbox"))
        .send()
        .await
        .expect("answered");
    resp.status() == 200
}

async fn next_text<S>(ws: &mut S) -> String
where
    S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return t.to_string(),
            Ok(Some(Ok(_))) => continue,
            other => panic!("the WebSocket ended: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_reloads_under_load_fail_no_request_keep_the_websocket_and_apply_at_once() {
    let pki = Pki::new();
    let up = upstream::start("a").await;
    let gw = start_gateway(&pki, &config(&pki, up.addr, "allow", ""));
    let port = gw.https_addr.port();
    let client = pki.client(&["alpha.test"], gw.https_addr, false);
    let mut ws = pki.open_ws(gw.https_addr, "alpha.test", "").await.unwrap();
    ws.send(Message::text("before")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "echo: before");

    // The load: keep-alive requests and requests on fresh connections, non-stop.
    let (stop_load, answered, failed) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(Mutex::default()),
    );
    let mut load = Vec::new();
    for fresh in [false, true] {
        let (stop_load, answered, failed) = (stop_load.clone(), answered.clone(), failed.clone());
        let c = pki.client(&["alpha.test"], gw.https_addr, false);
        load.push(tokio::spawn(async move {
            while !stop_load.load(Ordering::SeqCst) {
                // The dashboard's login page is open whatever `anonymous` says. `fresh`:
                // each request on a new connection (this one closes after the answer).
                let mut request = c.get(format!("https://alpha.test:{port}/login"));
                if fresh {
                    request = request.header("connection", "close");
                }
                match request.send().await {
                    Ok(r) if r.status() == 200 => drop(answered.fetch_add(1, Ordering::SeqCst)),
                    other => failed.lock().unwrap().push(format!("{other:?}")),
                }
            }
        }));
    }

    let gateway = Arc::new(gw);
    for round in 1..=5u64 {
        let anonymous = if round % 2 == 1 { "deny" } else { "allow" };
        let new = parse(&pki, &config(&pki, up.addr, anonymous, ""));
        let g = gateway.clone();
        let generation = tokio::task::spawn_blocking(move || g.reload(new))
            .await
            .unwrap()
            .expect("a valid config reloads");
        assert_eq!(generation, round);
        // From the next request on, on a connection opened before the reload too.
        assert_eq!(
            anonymous_reaches(&client, port).await,
            anonymous == "allow",
            "round {round}: anonymous = {anonymous} applies to the next request"
        );
        ws.send(Message::text(format!("round {round}")))
            .await
            .unwrap();
        assert_eq!(next_text(&mut ws).await, format!("echo: round {round}"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop_load.store(true, Ordering::SeqCst);
    for task in load {
        task.await.unwrap();
    }
    let failed = failed.lock().unwrap().clone();
    assert!(
        failed.is_empty(),
        "failed requests during reloads: {failed:?}"
    );
    assert!(answered.load(Ordering::SeqCst) > 50, "the load ran");
    assert_eq!(gateway.live.len(), 1, "the WebSocket is still open");
    let metrics = admin_get(&gateway, "/metrics").await;
    assert!(
        metrics.contains("mfagate_config_reloads_total 5"),
        "{metrics}"
    );
    let gw = Arc::into_inner(gateway).expect("the only handle");
    stop(gw).await;
}

type Mutex<T> = std::sync::Mutex<Vec<T>>;

async fn admin_get(gw: &mfagate::proxy::RunningGateway, path: &str) -> String {
    let url = format!("http://{}{path}", gw.admin_addr);
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_reload_changes_nothing_and_says_why() {
    let pki = Pki::new();
    let up = upstream::start("a").await;
    let good = config(&pki, up.addr, "deny", "");
    let gw = Arc::new(start_gateway(&pki, &good));
    let port = gw.https_addr.port();
    let client = pki.client(&["alpha.test"], gw.https_addr, false);
    assert!(!anonymous_reaches(&client, port).await);

    // An invalid file: its errors, nothing applied.
    let path = pki.path("mfagate.toml");
    let broken = config(&pki, up.addr, "allow", "").replace("required", "sometimes");
    std::fs::write(&path, &broken).unwrap();
    let g = gw.clone();
    let refused = tokio::task::spawn_blocking(move || g.reload_from(&path))
        .await
        .unwrap();
    let Err(ReloadError::Invalid(why)) = refused else {
        panic!("an invalid file is refused: {refused:?}");
    };
    assert!(why.contains("mfa"), "names the key: {why}");
    assert!(
        !anonymous_reaches(&client, port).await,
        "the old policy holds"
    );

    // A key only a restart can change: named, nothing applied (the policy change neither).
    let moved = config(&pki, up.addr, "allow", "workers = 3").replace("workers = 2\n", "");
    let g = gw.clone();
    let new = parse(&pki, &moved);
    let refused = tokio::task::spawn_blocking(move || g.reload(new))
        .await
        .unwrap();
    let Err(ReloadError::NeedsRestart(keys)) = refused else {
        panic!("a change of workers is refused: {refused:?}");
    };
    assert_eq!(keys, ["workers"]);
    assert!(
        !anonymous_reaches(&client, port).await,
        "the old policy holds"
    );

    let ready = admin_get(&gw, "/readyz").await;
    assert!(ready.starts_with("ready\n"), "still ready: {ready}");
    assert!(
        ready.contains("config generation 0, reloads refused 2")
            && ready.contains("last reload refused: workers cannot change without a restart"),
        "{ready}"
    );
    let metrics = admin_get(&gw, "/metrics").await;
    assert!(
        metrics.contains("mfagate_config_reload_failures_total 2"),
        "{metrics}"
    );
    stop(Arc::into_inner(gw).unwrap()).await;
}

/// The certificate the gateway presents for alpha.test on a new connection.
async fn presented(pki: &Pki, addr: std::net::SocketAddr) -> Vec<u8> {
    let tls = pki
        .connect(addr, "alpha.test", &[b"http/1.1"])
        .await
        .unwrap();
    let certs = tls.get_ref().1.peer_certificates().unwrap();
    certs[0].to_vec()
}

/// The binary: SIGHUP through `mfagate reload`, and a certificate renewed on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_running_binary_reloads_on_mfagate_reload_and_on_a_renewed_certificate() {
    let pki = Pki::new();
    let up = upstream::start("a").await;
    let path = pki.path("mfagate.toml");
    std::fs::create_dir_all(pki.path("data")).unwrap();
    let head = "[log]\nformat = \"json\"\n";
    std::fs::write(&path, config(&pki, up.addr, "deny", head)).unwrap();
    let (mut child, https) = spawn_serving(&path, &[]).await;
    let pid_file = pki.path("data/mfagate.pid");
    let started = Instant::now();
    while !pid_file.exists() {
        assert!(started.elapsed() < Duration::from_secs(20), "no pid file");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client = pki.client(&["alpha.test"], https, false);
    assert!(!anonymous_reaches(&client, https.port()).await);

    // `mfagate reload` reports the outcome: a refusal first, then the change.
    let reload = {
        let path = path.clone();
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_mfagate"))
                .args(["reload", "--config"])
                .arg(&path)
                .output()
                .unwrap()
        }
    };
    let text = config(&pki, up.addr, "allow", head);
    std::fs::write(&path, text.replace("required", "sometimes")).unwrap();
    let out = tokio::task::spawn_blocking(reload.clone()).await.unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nothing was signalled"),
        "{out:?}"
    );
    std::fs::write(&path, &text).unwrap();
    let out = tokio::task::spawn_blocking(reload).await.unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "reloaded: config generation 1"
    );
    assert!(anonymous_reaches(&client, https.port()).await, "applied");

    // A renewal replaces the files (each by a rename, the key first, as renewal tools do):
    // the next handshake presents the new certificate.
    let before = presented(&pki, https).await;
    let renewed = pki.leaf("alpha-next", &["alpha.test"]).to_vec();
    assert_ne!(before, renewed);
    for (from, to) in [
        ("alpha-next-key.pem", "alpha-key.pem"),
        ("alpha-next.pem", "alpha.pem"),
    ] {
        std::fs::rename(pki.path(from), pki.path(to)).unwrap();
    }
    let started = Instant::now();
    while presented(&pki, https).await != renewed {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the renewed certificate was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A broken renewal is refused (and counted), and the pair in use is kept.
    let admin = std::fs::read_to_string(&pid_file).unwrap();
    let admin = admin.lines().nth(1).unwrap().to_string();
    let refused = || async {
        let ready = reqwest::get(format!("http://{admin}/readyz"))
            .await
            .unwrap();
        let ready = ready.text().await.unwrap();
        let count = ready.lines().find_map(|l| {
            l.split_once(", reloads refused ")
                .map(|(_, n)| n.to_string())
        });
        count.unwrap().parse::<u64>().unwrap()
    };
    let refused_before = refused().await;
    std::fs::write(pki.path("alpha.pem"), "not a certificate").unwrap();
    let started = Instant::now();
    while refused().await == refused_before {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the broken renewal was not seen"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        presented(&pki, https).await,
        renewed,
        "the old pair is kept"
    );

    terminate(&child);
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("the gateway stops on SIGTERM")
        .unwrap();
    assert!(status.success());
    assert!(!pid_file.exists(), "its pid file is removed");
}

/// Reads the gateway's JSON log until it names its https address.
async fn https_addr(log: tokio::process::ChildStderr) -> std::net::SocketAddr {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(log).lines();
    let seen = std::sync::Mutex::new(Vec::new());
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let addr = serde_json::from_str::<serde_json::Value>(&line)
                .ok()
                .and_then(|v| v["https"].as_str().map(str::to_owned));
            if let Some(addr) = addr {
                return addr.parse().unwrap();
            }
            seen.lock().unwrap().push(line);
        }
        panic!("the log ended before the gateway served: {seen:#?}");
    })
    .await
    .unwrap_or_else(|_| panic!("the gateway did not log its address: {seen:#?}"));
    // Keep reading so the gateway never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    found
}

/// Switching an environment to `required` by reload records when enforcement began, as a
/// start does (the grace period counts from then); switching it off again clears it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requiring_mfa_by_reload_starts_enforcement_as_a_start_does() {
    let pki = Pki::new();
    let up = upstream::start("a").await;
    let optional = config(&pki, up.addr, "allow", "").replace("\"required\"", "\"optional\"");
    let gw = Arc::new(start_gateway(&pki, &optional));
    let since = |gw: &mfagate::proxy::RunningGateway| {
        let auth = gw.current_auth().unwrap();
        auth.policies().enforced_since.get("alpha").copied()
    };
    assert_eq!(since(&gw), None, "optional: not enforced");
    let before = gw.auth.as_ref().unwrap().clock.now_ms();
    let (g, new) = (gw.clone(), parse(&pki, &config(&pki, up.addr, "allow", "")));
    tokio::task::spawn_blocking(move || g.reload(new).unwrap())
        .await
        .unwrap();
    let enforced = since(&gw).expect("required by reload: enforced from now");
    assert!(
        enforced >= before,
        "{enforced} is the reload's time, not earlier"
    );
    let (g, new) = (gw.clone(), parse(&pki, &optional));
    tokio::task::spawn_blocking(move || g.reload(new).unwrap())
        .await
        .unwrap();
    assert_eq!(since(&gw), None, "optional again: cleared");
    stop(Arc::into_inner(gw).unwrap()).await;
}

/// Starts `mfagate serve` (with `args`) and returns it with its https address once it serves.
async fn spawn_serving(
    path: &std::path::Path,
    args: &[&str],
) -> (tokio::process::Child, std::net::SocketAddr) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mfagate"))
        .args(["serve", "--config"])
        .arg(path)
        .args(args)
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let https = https_addr(child.stderr.take().unwrap()).await;
    (child, https)
}

fn terminate(child: &tokio::process::Child) {
    let pid = rustix::process::Pid::from_raw(child.id().unwrap() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
}

/// What an upgrade under load looked like from the clients.
struct UpgradeSeen {
    /// The longest a request waited (the gap, if any).
    slowest: Duration,
    answered: usize,
}

/// Runs `serve`, then `serve --upgrade` beside it, under a steady loop of requests, each on
/// a fresh connection: none may be refused or fail, the old process must tell its WebSocket
/// 1001 "going away" and exit, the new one serve on the same sockets. `store` is the
/// config's `[store]` table (empty: the embedded store). With a shared store the WebSocket
/// must still echo once the new process serves (it is given the drain time).
async fn upgrade_under_load(store: &str, overlapping: bool) -> UpgradeSeen {
    let pki = Pki::new();
    let up = upstream::start("a").await;
    let path = pki.path("mfagate.toml");
    std::fs::create_dir_all(pki.path("data")).unwrap();
    let head = format!("[log]\nformat = \"json\"\n[timeouts]\nshutdown_drain_secs = 2\n{store}");
    std::fs::write(&path, config(&pki, up.addr, "allow", &head)).unwrap();
    let (mut old, https) = spawn_serving(&path, &[]).await;
    let mut ws = pki.open_ws(https, "alpha.test", "").await.unwrap();
    ws.send(Message::text("on the old one")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "echo: on the old one");

    let stop_load = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(std::sync::Mutex::new((Duration::ZERO, 0usize, Vec::new())));
    let load = {
        let (stop_load, seen) = (stop_load.clone(), seen.clone());
        let clients: Vec<reqwest::Client> = (0..400)
            .map(|_| pki.client(&["alpha.test"], https, false))
            .collect();
        tokio::spawn(async move {
            // A new client is a new connection: every request is a connection attempt.
            for c in clients.iter().cycle() {
                if stop_load.load(Ordering::SeqCst) {
                    break;
                }
                let url = format!("https://alpha.test:{}/login", https.port());
                let started = Instant::now();
                let answer = c.get(url).header("connection", "close").send().await;
                let mut seen = seen.lock().unwrap();
                seen.0 = seen.0.max(started.elapsed());
                match answer {
                    Ok(r) if r.status() == 200 => seen.1 += 1,
                    other => seen.2.push(format!("{other:?}")),
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (mut new, new_https) = spawn_serving(&path, &["--upgrade"]).await;
    assert_eq!(new_https, https, "the same sockets");
    if overlapping {
        ws.send(Message::text("still here")).await.unwrap();
        assert_eq!(
            next_text(&mut ws).await,
            "echo: still here",
            "kept while draining"
        );
    }
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .expect("the old process closes its WebSocket");
    assert_eq!(closed, Some(1001), "going away");
    let status = tokio::time::timeout(Duration::from_secs(20), old.wait())
        .await
        .expect("the old process exits after draining")
        .unwrap();
    assert!(status.success());
    let at_exit = seen.lock().unwrap().1;
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop_load.store(true, Ordering::SeqCst);
    load.await.unwrap();
    let (slowest, answered, failed) = seen.lock().unwrap().clone();
    assert!(
        failed.is_empty(),
        "failed or refused during the upgrade: {failed:?}"
    );
    assert!(answered > at_exit, "the new process answers");
    let pid = std::fs::read_to_string(pki.path("data/mfagate.pid")).unwrap();
    assert_eq!(
        pid.lines().next(),
        Some(new.id().unwrap().to_string().as_str())
    );
    terminate(&new);
    let status = tokio::time::timeout(Duration::from_secs(20), new.wait()).await;
    assert!(status.expect("stops").unwrap().success());
    UpgradeSeen { slowest, answered }
}

/// The embedded store is one process's only: the old one stops and exits first, the new one
/// then opens it; connections meanwhile wait in the sockets' queues.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_on_the_embedded_store_refuses_no_connection() {
    let seen = upgrade_under_load("", false).await;
    println!(
        "embedded store: {} requests, the slowest {:?}",
        seen.answered, seen.slowest
    );
}

/// With Redis both processes serve for a while: the new one first, then the old one drains
/// with its WebSockets kept for the drain time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_on_redis_overlaps_and_keeps_websockets_for_the_drain() {
    let redis = crate::support::redis::RedisServer::start(false);
    let store = format!("[store]\nbackend = \"redis\"\nurl = \"{}\"\n", redis.url());
    let seen = upgrade_under_load(&store, true).await;
    println!(
        "redis: {} requests, the slowest {:?}",
        seen.answered, seen.slowest
    );
}
