//! An owner's export of a long period: events read from the embedded store in time order,
//! filtered, written as JSON lines and sealed, then read back (the download), with the rate
//! and the memory it takes. Not a timed test: it prints what it measured.
//!
//! Run: `cargo bench --bench audit_export` (1 million events; `MFAGATE_BENCH_EVENTS=5000000`
//! for a year of a 200-agent team).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use mfagate::audit::{log_name, Context, EventKind, PassThrough};
use mfagate::config::Config;
use mfagate::domain::{Factor, Role};
use mfagate::gate::admin::Admin;
use mfagate::gate::exports::ExportAsk;
use mfagate::store::records::ExportState;
use mfagate::store::EmbeddedStore;

/// Resident memory now, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmRSS:"));
    let kib = line.and_then(|l| l.split_whitespace().nth(1)?.parse().ok());
    kib.unwrap_or(0)
}

/// Samples RSS every 10 ms until stopped; returns the peak.
fn sample_peak(stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let peak = AtomicU64::new(0);
        while !stop.load(Ordering::Relaxed) {
            peak.fetch_max(rss_kib(), Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(10));
        }
        peak.load(Ordering::Relaxed)
    })
}

/// The events of a busy team: sign-ins, codes, sessions, a few admin actions.
fn event(i: u64, at_ms: u64) -> Vec<u8> {
    let user = format!("agent{}@example.com", i % 200);
    let ctx = Context {
        at_ms,
        environment: "prod".into(),
        ip: format!("198.51.100.{}", i % 250),
        request_id: format!("{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        ..Default::default()
    }
    .by(&user)
    .with_device(&format!("{:032x}", i % 997))
    .with_agent("Chrome on macOS".into());
    let kind = match i % 6 {
        0 => EventKind::LoginIntercepted,
        1 => EventKind::MfaSuccess {
            method: Factor::Totp,
        },
        2 => EventKind::SessionStarted {
            method: mfagate::domain::AuthMethod::Pwd,
        },
        3 => EventKind::DeviceTrusted,
        4 => EventKind::LoginPassthrough {
            reason: PassThrough::TrustedDevice,
        },
        _ => EventKind::Logout,
    };
    serde_json::to_vec(&ctx.event(kind)).unwrap()
}

fn config(dir: &std::path::Path) -> Config {
    let key = rcgen::generate_simple_self_signed(vec!["prod.example".into()]).unwrap();
    std::fs::write(dir.join("prod.pem"), key.cert.pem()).unwrap();
    std::fs::write(dir.join("prod-key.pem"), key.signing_key.serialize_pem()).unwrap();
    std::fs::write(
        dir.join("master.key"),
        "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=",
    )
    .unwrap();
    let toml = r#"
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
data_dir = "data"
[secrets]
keys = [{ file = "master.key" }]
[[environments]]
name = "prod"
hosts = ["prod.example"]
upstream = "http://127.0.0.1:9"
mfa = "required"
[environments.tls]
cert = "prod.pem"
key = "prod-key.pem"
[environments.login]
routes = [{ method = "POST", path = "/login", format = "form" }]
session_cookies = ["sid"]
username_field = "email"
trust_request_username = true
success_location = "/app*"
login_page = "/login"
"#;
    Config::from_toml(toml, dir).unwrap_or_else(|e| panic!("{e}"))
}

fn main() {
    let events: u64 = std::env::var("MFAGATE_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    // The year 2025, evenly spread (before the export's own events).
    let (start, step) = (1_735_689_600_000u64, 365 * 86_400_000 / events.max(1));
    let seeded = Instant::now();
    {
        let store = EmbeddedStore::open(&config.data_dir).unwrap();
        let entries = (0..events).map(|i| (start + i * step, event(i, start + i * step)));
        store.import_log(&log_name("prod"), entries).unwrap();
    }
    println!(
        "seeded {events} events in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );

    let (auth, _mail) = mfagate::proxy::server::open_core(config).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let envs = vec!["prod".to_string()];
    let admin = Admin {
        user: "owner@example.com",
        role: Role::Owner,
        envs: &envs,
    };
    let to_ms = start + 365 * 86_400_000 - 1;
    let ask = ExportAsk {
        from_ms: start,
        to_ms,
        environment: Some("prod".into()),
        kinds: Vec::new(),
    };
    let baseline = rss_kib();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_peak(stop.clone());
    let began = Instant::now();
    let job = rt.block_on(async {
        let ctx = auth.background_context("prod");
        let job = auth.request_export(&admin, ask, &ctx).await.unwrap();
        loop {
            let now = auth.records.export(&job.id).await.unwrap().unwrap();
            if now.state != ExportState::Running {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let took = began.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.join().unwrap();
    assert_eq!(job.state, ExportState::Ready, "{job:?}");
    assert_eq!(job.events, events, "exactly the seeded year");
    println!(
        "export: {} events, {:.0} MiB of JSON lines in {took:.1} s = {:.0} events/s ({:.1} MiB/s); RSS {} MiB before, peak {} MiB (+{} MiB)",
        job.events,
        job.bytes as f64 / 1048576.0,
        job.events as f64 / took,
        job.bytes as f64 / 1048576.0 / took,
        baseline / 1024,
        peak / 1024,
        peak.saturating_sub(baseline) / 1024,
    );

    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_peak(stop.clone());
    let before = rss_kib();
    let began = Instant::now();
    let bytes = rt.block_on(async {
        let ctx = auth.background_context("prod");
        let (_, stream) = auth
            .download_export(&admin, &job.id, false, &ctx)
            .await
            .unwrap();
        let mut stream = std::pin::pin!(stream);
        let mut bytes = 0u64;
        while let Some(chunk) = stream.next().await {
            bytes += chunk.unwrap().len() as u64;
        }
        bytes
    });
    let took = began.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.join().unwrap();
    assert_eq!(bytes, job.bytes);
    println!(
        "download (opened as sent): {:.0} MiB in {took:.1} s = {:.0} MiB/s; RSS peak +{} MiB",
        bytes as f64 / 1048576.0,
        bytes as f64 / 1048576.0 / took,
        peak.saturating_sub(before) / 1024
    );
}
