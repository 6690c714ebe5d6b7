//! A real redis-server child process for tests, on an ephemeral port with its own folder,
//! killed when dropped. A missing binary fails the test with what to install.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    dir: Option<tempfile::TempDir>,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn binary() -> &'static str {
    for candidate in ["/usr/bin/redis-server", "/usr/local/bin/redis-server"] {
        if Path::new(candidate).exists() {
            return candidate;
        }
    }
    panic!("redis-server is not installed: `apt-get install -y redis-server` (Debian package redis-server)");
}

impl RedisServer {
    /// Starts redis-server; `aof` keeps data across restarts of the same server.
    pub fn start(aof: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::spawn(dir, port, aof)
    }

    fn spawn(dir: tempfile::TempDir, port: u16, aof: bool) -> Self {
        let child = Command::new(binary())
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args([
                "--appendonly",
                if aof { "yes" } else { "no" },
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child: Some(child),
            port,
            dir: Some(dir),
        }
    }

    /// Starts the killed server again on the same port and folder.
    pub fn revive(&mut self, aof: bool) {
        let dir = self.dir.take().expect("a server has a folder");
        *self = Self::spawn(dir, self.port, aof);
    }

    /// Kills the server, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (as a crash would) and starts it again on the same port and folder.
    pub fn restart(mut self, aof: bool) -> Self {
        self.kill();
        let dir = self.dir.take().expect("a server has a folder");
        Self::spawn(dir, self.port, aof)
    }
}
