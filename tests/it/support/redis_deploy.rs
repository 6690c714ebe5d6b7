//! Real multi-process Redis deployments for tests: a master with a replica watched by a
//! Sentinel, and a three-master Cluster. Every process listens on 127.0.0.1 on an ephemeral
//! port and is killed when dropped.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mfagate::store::{RedisTarget, Topology};

use super::redis::{admin_connection, binary, free_port, RedisServer};

/// Waits up to `limit` for `ready`, failing the test with `what` otherwise.
fn wait_for(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < limit, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn info_field(conn: &mut redis::Connection, section: &str, field: &str) -> Option<String> {
    let info: String = redis::cmd("INFO").arg(section).query(conn).ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
}

/// One master, one replica and one Sentinel. The gateway is also given the address of a
/// Sentinel that does not answer, listed first, so it has to move on to the next one.
pub struct SentinelSet {
    /// The servers that started as master and as replica; after a failover they swap roles.
    pub servers: Vec<RedisServer>,
    /// Passwords of the data nodes and of the Sentinel, when they require them.
    passwords: Option<(String, String)>,
    /// The CA file of every certificate, when all of them speak TLS only.
    ca: Option<std::path::PathBuf>,
    sentinel: Option<Child>,
    pub sentinel_port: u16,
    /// The master's name, unique per set, so a Sentinel of another test that happens to
    /// listen on the unanswering address cannot hand out its own master.
    master_name: String,
    dead_sentinel_port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for SentinelSet {
    fn drop(&mut self) {
        if let Some(mut child) = self.sentinel.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl SentinelSet {
    pub fn start() -> Self {
        Self::launch(None, None)
    }

    /// Data nodes that require `data` and a Sentinel that requires `sentinel` as passwords.
    pub fn start_with_passwords(data: &str, sentinel: &str) -> Self {
        Self::launch(Some((data.into(), sentinel.into())), None)
    }

    /// Data nodes and the Sentinel speak TLS only, with certificates from `pki`.
    pub fn start_tls(pki: &super::Pki) -> Self {
        Self::launch(None, Some(pki))
    }

    fn launch(passwords: Option<(String, String)>, tls: Option<&super::Pki>) -> Self {
        let mut args: Vec<&str> = match &passwords {
            Some((data, _)) => vec!["--requirepass", data, "--masterauth", data],
            None => Vec::new(),
        };
        if tls.is_some() {
            args.extend(["--tls-replication", "yes"]);
        }
        let server = |args: &[&str]| match tls {
            Some(pki) => RedisServer::start_tls_with(pki, args),
            None => RedisServer::start_with(false, args),
        };
        let master = server(&args);
        let port = master.port.to_string();
        let mut replica_args = vec!["--replicaof", "127.0.0.1", &port];
        replica_args.extend(&args);
        let replica = server(&replica_args);
        let mut conn = replica.admin();
        wait_for(Duration::from_secs(10), "replica in sync", || {
            info_field(&mut conn, "replication", "master_link_status").as_deref() == Some("up")
        });
        let dir = tempfile::tempdir().unwrap();
        let sentinel_port = free_port();
        let master_name = format!("mfagate-{sentinel_port}");
        let conf = dir.path().join("sentinel.conf");
        let listen = match tls {
            Some(pki) => format!(
                "port 0\ntls-port {sentinel_port}\ntls-auth-clients no\ntls-replication yes\n\
                 tls-cert-file {}\ntls-key-file {}\ntls-ca-cert-file {}\n",
                pki.path("redis.pem").display(),
                pki.path("redis-key.pem").display(),
                pki.path("ca.pem").display(),
            ),
            None => format!("port {sentinel_port}\n"),
        };
        // A failover starts one second after the master stops answering; quorum 1 since one
        // Sentinel runs.
        std::fs::write(
            &conf,
            format!(
                "{listen}bind 127.0.0.1\ndir {dir}\n\
                 sentinel monitor {master_name} 127.0.0.1 {port} 1\n\
                 sentinel down-after-milliseconds {master_name} 1000\n\
                 sentinel failover-timeout {master_name} 5000\n{auth}",
                dir = dir.path().display(),
                auth = match &passwords {
                    Some((data, sentinel)) => format!(
                        "sentinel auth-pass {master_name} {data}\nrequirepass {sentinel}\n"
                    ),
                    None => String::new(),
                },
            ),
        )
        .unwrap();
        let sentinel = Command::new(binary())
            .arg(&conf)
            .arg("--sentinel")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server --sentinel starts");
        let set = Self {
            servers: vec![master, replica],
            passwords,
            ca: tls.map(|pki| pki.path("ca.pem")),
            sentinel: Some(sentinel),
            sentinel_port,
            master_name,
            dead_sentinel_port: free_port(),
            _dir: dir,
        };
        // A failover needs the Sentinel to know the replica, which it learns from the master.
        wait_for(
            Duration::from_secs(15),
            "sentinel knows the replica",
            || {
                set.sentinel_conn()
                    .and_then(|mut c| {
                        redis::cmd("SENTINEL")
                            .arg("REPLICAS")
                            .arg(&set.master_name)
                            .query::<Vec<redis::Value>>(&mut c)
                    })
                    .is_ok_and(|replicas| !replicas.is_empty())
            },
        );
        set
    }

    /// Kills the Sentinel; the data nodes go on as they are.
    pub fn kill_sentinel(&mut self) {
        if let Some(mut child) = self.sentinel.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn sentinel_conn(&self) -> redis::RedisResult<redis::Connection> {
        let password = self.passwords.as_ref().map(|(_, s)| s.as_str());
        admin_connection(self.sentinel_port, password, self.ca.as_deref())
    }

    /// The master's port, as the Sentinel says now.
    pub fn master_port(&self) -> u16 {
        let (_, port): (String, u16) = redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(&self.master_name)
            .query(&mut self.sentinel_conn().unwrap())
            .unwrap();
        port
    }

    pub fn master_index(&self) -> usize {
        let port = self.master_port();
        self.servers.iter().position(|s| s.port == port).unwrap()
    }

    /// Asks the Sentinel for a planned failover: the replica is promoted and the old master,
    /// still running, becomes its replica.
    /// Returns once the Sentinel names the new master. The old one goes on answering as a
    /// master until the Sentinel converts it (seconds later): the window in which a client
    /// that does not ask the Sentinels would keep writing to it.
    pub fn demote_master(&self) {
        let old = self.master_index();
        let _: () = redis::cmd("SENTINEL")
            .arg("FAILOVER")
            .arg(&self.master_name)
            .query(&mut self.sentinel_conn().unwrap())
            .unwrap();
        wait_for(Duration::from_secs(20), "planned failover done", || {
            self.master_index() != old
        });
    }

    /// Kills the current master, as a crash would; the Sentinel promotes the replica.
    pub fn kill_master(&mut self) {
        let index = self.master_index();
        self.servers[index].kill();
    }

    fn nodes(&self) -> [String; 2] {
        let scheme = if self.ca.is_some() { "rediss" } else { "redis" };
        [
            format!("{scheme}://127.0.0.1:{}/", self.dead_sentinel_port),
            format!("{scheme}://127.0.0.1:{}/", self.sentinel_port),
        ]
    }

    /// The `[store]` keys that reach this deployment.
    pub fn store_keys(&self) -> String {
        let [dead, live] = self.nodes();
        format!(
            "topology = \"sentinel\"\nnodes = [\"{dead}\", \"{live}\"]\nmaster_name = \"{}\"",
            self.master_name
        )
    }

    pub fn target(&self) -> RedisTarget {
        RedisTarget {
            topology: Topology::Sentinel {
                sentinels: self.nodes().to_vec(),
                master_name: self.master_name.clone(),
            },
            password: self.passwords.as_ref().map(|(data, _)| data.clone()),
            sentinel_password: self.passwords.as_ref().map(|(_, s)| s.clone()),
            ca_pem: self.ca.as_ref().map(|ca| std::fs::read(ca).unwrap()),
            ..RedisTarget::standalone("", None)
        }
    }
}

/// Three masters sharing the 16 384 slots, optionally with a replica of the first master (the
/// first seed node the gateway is given), so killing that master fails over.
pub struct ClusterSet {
    pub nodes: Vec<RedisServer>,
    pub replica: Option<RedisServer>,
    /// The password of the `default` user on every node, when they require one.
    password: Option<String>,
    /// The CA of the nodes' certificates, when they speak TLS only.
    ca_pem: Option<Vec<u8>>,
}

const CLUSTER_ARGS: [&str; 6] = [
    "--cluster-enabled",
    "yes",
    "--cluster-config-file",
    "nodes.conf",
    "--cluster-node-timeout",
    "2000",
];

impl ClusterSet {
    pub fn start() -> Self {
        Self::launch(false, None, None)
    }

    pub fn start_with_replica() -> Self {
        Self::launch(true, None, None)
    }

    /// Nodes whose `default` user requires `password` (between nodes too).
    pub fn start_with_password(password: &str) -> Self {
        Self::launch(false, Some(password), None)
    }

    /// Nodes that speak TLS only (clients, the cluster bus and replication), with a
    /// certificate from `pki`.
    pub fn start_tls(pki: &super::Pki) -> Self {
        Self::launch(false, None, Some(pki))
    }

    fn launch(with_replica: bool, password: Option<&str>, tls: Option<&super::Pki>) -> Self {
        const N: u16 = 3;
        let mut args = CLUSTER_ARGS.to_vec();
        if let Some(pw) = password {
            args.extend(["--requirepass", pw, "--masterauth", pw]);
        }
        // The bus port defaults to the port + 10 000, past 65 535 for a high ephemeral port.
        let node = || {
            let bus = free_port().to_string();
            let mut with_bus = args.clone();
            with_bus.extend(["--cluster-port", &bus]);
            match tls {
                Some(pki) => {
                    with_bus.extend(["--tls-cluster", "yes", "--tls-replication", "yes"]);
                    RedisServer::start_tls_with(pki, &with_bus)
                }
                None => RedisServer::start_with(false, &with_bus),
            }
        };
        let nodes: Vec<RedisServer> = (0..N).map(|_| node()).collect();
        for (i, node) in nodes.iter().enumerate() {
            let i = i as u16;
            let (first, last) = (i * 16384 / N, (i + 1) * 16384 / N - 1);
            let _: () = redis::cmd("CLUSTER")
                .arg("ADDSLOTSRANGE")
                .arg(first)
                .arg(last)
                .query(&mut node.admin())
                .unwrap();
        }
        let replica = with_replica.then(node);
        let mut first = nodes[0].admin();
        for node in nodes[1..].iter().chain(&replica) {
            let (_, bus): (String, u16) = redis::cmd("CONFIG")
                .arg("GET")
                .arg("cluster-port")
                .query(&mut node.admin())
                .unwrap();
            let _: () = redis::cmd("CLUSTER")
                .arg("MEET")
                .arg("127.0.0.1")
                .arg(node.port)
                .arg(bus)
                .query(&mut first)
                .unwrap();
        }
        let known = N as usize + replica.iter().count();
        let set = Self {
            nodes,
            replica,
            password: password.map(String::from),
            ca_pem: tls.map(|pki| std::fs::read(pki.path("ca.pem")).unwrap()),
        };
        set.wait_until_ok(known);
        if let Some(replica) = &set.replica {
            let id: String = redis::cmd("CLUSTER")
                .arg("MYID")
                .query(&mut set.nodes[0].admin())
                .unwrap();
            let mut conn = replica.admin();
            let _: () = redis::cmd("CLUSTER")
                .arg("REPLICATE")
                .arg(&id)
                .query(&mut conn)
                .unwrap();
            wait_for(Duration::from_secs(20), "cluster replica in sync", || {
                info_field(&mut conn, "replication", "master_link_status").as_deref() == Some("up")
            });
        }
        set
    }

    /// Waits until every live node sees `known` nodes and all slots served.
    pub fn wait_until_ok(&self, known: usize) {
        for node in self.nodes.iter().chain(&self.replica) {
            let Ok(mut conn) = node.try_admin() else {
                continue; // killed
            };
            wait_for(Duration::from_secs(20), "cluster state ok", || {
                let info: String = redis::cmd("CLUSTER").arg("INFO").query(&mut conn).unwrap();
                info.contains("cluster_state:ok")
                    && info.contains(&format!("cluster_known_nodes:{known}"))
            });
        }
    }

    fn addresses(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The `[store]` keys that reach this deployment (two seed nodes; the third is found).
    pub fn store_keys(&self) -> String {
        let seeds = self.addresses()[..2]
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(", ");
        format!("topology = \"cluster\"\nnodes = [{seeds}]")
    }

    pub fn target(&self) -> RedisTarget {
        RedisTarget {
            topology: Topology::Cluster {
                nodes: self.addresses()[..2].to_vec(),
            },
            // Named explicitly, as an ACL user would be.
            username: self.password.as_ref().map(|_| "default".into()),
            password: self.password.clone(),
            ..RedisTarget::standalone("", self.ca_pem.clone())
        }
    }

    /// How many keys each master holds: proof that data is spread over the slots.
    pub fn keys_per_node(&self) -> Vec<u64> {
        self.nodes
            .iter()
            .map(|n| redis::cmd("DBSIZE").query(&mut n.admin()).unwrap())
            .collect()
    }
}

/// Any of the deployments, as a gateway test reaches it.
pub enum Deployment {
    Standalone(RedisServer),
    Sentinel(SentinelSet),
    Cluster(ClusterSet),
}

impl Deployment {
    pub fn store_keys(&self) -> String {
        match self {
            Self::Standalone(s) => s.store_keys(),
            Self::Sentinel(s) => s.store_keys(),
            Self::Cluster(c) => c.store_keys(),
        }
    }

    // A deployment that can lose its master and carry on: which server dies, which one takes
    // over, and how to make sure the successor has every acknowledged write first.

    /// The master that a failover test kills.
    pub fn doomed(&self) -> &RedisServer {
        match self {
            Self::Sentinel(s) => &s.servers[s.master_index()],
            Self::Cluster(c) => &c.nodes[0],
            Self::Standalone(_) => panic!("a standalone server has no failover"),
        }
    }

    /// The replica that takes over from `doomed`.
    pub fn successor(&self) -> &RedisServer {
        match self {
            Self::Sentinel(s) => &s.servers[1 - s.master_index()],
            Self::Cluster(c) => c.replica.as_ref().expect("a cluster with a replica"),
            Self::Standalone(_) => panic!("a standalone server has no failover"),
        }
    }

    /// Waits until every write so far on `doomed` has reached its replica, so a failover
    /// loses nothing.
    pub fn sync_replica(&self) {
        let acked: u64 = redis::cmd("WAIT")
            .arg(1)
            .arg(5000)
            .query(&mut self.doomed().admin())
            .unwrap();
        assert_eq!(acked, 1, "the replica acknowledged the writes");
    }

    /// Fails `doomed` over while it keeps running (a Sentinel's planned failover).
    pub fn demote_master(&mut self) {
        match self {
            Self::Sentinel(s) => s.demote_master(),
            _ => panic!("only a Sentinel set fails over on request here"),
        }
    }

    /// Kills `doomed`, as a crash would.
    pub fn kill_master(&mut self) {
        match self {
            Self::Sentinel(s) => s.kill_master(),
            Self::Cluster(c) => c.nodes[0].kill(),
            Self::Standalone(_) => panic!("a standalone server has no failover"),
        }
    }
}
