//! How the store reaches Redis in each deployment shape. A `Link` is where commands go now and
//! which nodes carry the event channel; the supervisor (`supervise`) publishes a new `Link`
//! whenever that changes (first contact, a Sentinel failover), and everything else follows it.
//!
//! - Standalone: one server; the connection manager reconnects to it by itself.
//! - Sentinel: the master is asked of the Sentinels and checked with `ROLE`.
//! - Cluster: the cluster connection follows slots and failovers by itself. Classic pub/sub is
//!   broadcast to every node of a cluster, so events are followed on any one seed node.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{IntoConnectionInfo, RedisFuture, TlsCertificates, TlsMode};

/// Where a Redis deployment is and how to sign in to it.
#[derive(Clone, PartialEq)]
pub struct RedisTarget {
    pub topology: Topology,
    /// ACL user and password of the data nodes for Sentinel and Cluster (a standalone URL
    /// carries its own).
    pub username: Option<String>,
    pub password: Option<String>,
    /// Password of the Sentinels themselves, when they require one.
    pub sentinel_password: Option<String>,
    /// PEM CA certificates to trust for rediss:// instead of the system roots.
    pub ca_pem: Option<Vec<u8>>,
}

#[derive(Clone, PartialEq)]
pub enum Topology {
    /// redis:// or rediss:// URL of one server.
    Standalone { url: String },
    /// Addresses of the Sentinels and the name of the master they watch.
    Sentinel {
        sentinels: Vec<String>,
        master_name: String,
    },
    /// Addresses of some nodes of the cluster; the rest is discovered.
    Cluster { nodes: Vec<String> },
}

impl Topology {
    /// The topology's name as the config spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Standalone { .. } => "standalone",
            Self::Sentinel { .. } => "sentinel",
            Self::Cluster { .. } => "cluster",
        }
    }
}

impl RedisTarget {
    /// Just one URL, as tests and the simplest deployments use.
    pub fn standalone(url: &str, ca_pem: Option<Vec<u8>>) -> Self {
        Self {
            topology: Topology::Standalone { url: url.into() },
            username: None,
            password: None,
            sentinel_password: None,
            ca_pem,
        }
    }

    fn certificates(&self) -> TlsCertificates {
        TlsCertificates {
            client_tls: None,
            root_cert: self.ca_pem.clone(),
        }
    }

    /// A client for one node at `url`, with the target's credentials and CAs.
    fn node_client(&self, url: &str) -> redis::RedisResult<redis::Client> {
        let mut info = url.into_connection_info()?;
        let mut settings = info.redis_settings().clone();
        if let Some(user) = &self.username {
            settings = settings.set_username(user);
        }
        if let Some(password) = &self.password {
            settings = settings.set_password(password);
        }
        info = info.set_redis_settings(settings);
        match &self.ca_pem {
            Some(_) => redis::Client::build_with_tls(info, self.certificates()),
            None => redis::Client::open(info),
        }
    }
}

/// The connection commands use: one server's manager or the cluster's connection.
#[derive(Clone)]
pub enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> RedisFuture<'a, redis::Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<redis::Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

/// Where commands go now and the nodes the event channel can be followed on, in order of
/// preference.
#[derive(Clone)]
pub struct Link {
    pub conn: Conn,
    pub event_nodes: Arc<Vec<redis::Client>>,
}

/// Builds links for one target; a Sentinel client keeps its connections to the Sentinels.
/// There is one per store, so the size of its variants does not matter.
#[allow(clippy::large_enum_variant)]
pub(super) enum Connector {
    Standalone(redis::Client),
    Sentinel(SentinelClient),
    Cluster {
        client: ClusterClient,
        nodes: Arc<Vec<redis::Client>>,
    },
}

/// Connection and response timeout of every Redis connection.
pub const TIMEOUT: Duration = Duration::from_secs(2);

impl Connector {
    pub(super) fn new(target: &RedisTarget) -> redis::RedisResult<Self> {
        match &target.topology {
            Topology::Standalone { url } => Ok(Self::Standalone(target.node_client(url)?)),
            Topology::Sentinel {
                sentinels,
                master_name,
            } => {
                let addrs = sentinels
                    .iter()
                    .map(|s| s.as_str().into_connection_info().map(|i| i.addr().clone()))
                    .collect::<redis::RedisResult<Vec<_>>>()?;
                let tls = sentinels.iter().any(|s| s.starts_with("rediss://"));
                let mut builder =
                    SentinelClientBuilder::new(addrs, master_name, SentinelServerType::Master)?;
                if let Some(user) = &target.username {
                    builder = builder.set_client_to_redis_username(user);
                }
                if let Some(password) = &target.password {
                    builder = builder.set_client_to_redis_password(password);
                }
                if let Some(password) = &target.sentinel_password {
                    builder = builder.set_client_to_sentinel_password(password);
                }
                if tls {
                    builder = builder
                        .set_client_to_redis_tls_mode(TlsMode::Secure)
                        .set_client_to_sentinel_tls_mode(TlsMode::Secure);
                    if target.ca_pem.is_some() {
                        builder = builder
                            .set_client_to_redis_certificates(target.certificates())
                            .set_client_to_sentinel_certificates(target.certificates());
                    }
                }
                Ok(Self::Sentinel(builder.build()?))
            }
            Topology::Cluster { nodes } => {
                let mut builder = ClusterClient::builder(nodes.iter().map(String::as_str))
                    .connection_timeout(TIMEOUT)
                    .response_timeout(TIMEOUT);
                if let Some(user) = &target.username {
                    builder = builder.username(user);
                }
                if let Some(password) = &target.password {
                    builder = builder.password(password);
                }
                if target.ca_pem.is_some() {
                    builder = builder.certs(target.certificates());
                }
                let clients = nodes
                    .iter()
                    .map(|n| target.node_client(n))
                    .collect::<redis::RedisResult<Vec<_>>>()?;
                Ok(Self::Cluster {
                    client: builder.build()?,
                    nodes: Arc::new(clients),
                })
            }
        }
    }

    /// A new link to where writes go now.
    pub(super) async fn link(&mut self) -> redis::RedisResult<Link> {
        let single = |client: redis::Client| async move {
            // A command that finds the connection broken waits for the reconnection, so it is
            // tried only twice, close together: while Redis is away, logins and code entry
            // must get their 503 at once rather than after the default six-step backoff. The
            // heartbeat keeps trying every half second.
            let config = redis::aio::ConnectionManagerConfig::new()
                .set_connection_timeout(Some(TIMEOUT))
                .set_response_timeout(Some(TIMEOUT))
                .set_number_of_retries(1)
                .set_min_delay(Duration::from_millis(50))
                .set_max_delay(Duration::from_millis(100));
            let manager = client.get_connection_manager_with_config(config).await?;
            Ok::<_, redis::RedisError>(Link {
                conn: Conn::Single(manager),
                event_nodes: Arc::new(vec![client]),
            })
        };
        match self {
            Self::Standalone(client) => single(client.clone()).await,
            Self::Sentinel(sentinel) => single(sentinel.async_get_client().await?).await,
            Self::Cluster { client, nodes } => Ok(Link {
                conn: Conn::Cluster(client.get_async_connection().await?),
                event_nodes: nodes.clone(),
            }),
        }
    }

    /// Whether the master must be looked up again when it stops answering as master.
    pub(super) fn follows_master(&self) -> bool {
        matches!(self, Self::Sentinel(_))
    }

    /// For Sentinel: whether the Sentinels still name the master `link` points at (`None`
    /// when none of them answers in time). Always true for the other shapes.
    pub(super) async fn still_names(&mut self, link: &Link) -> Option<bool> {
        let Self::Sentinel(sentinel) = self else {
            return Some(true);
        };
        let named = tokio::time::timeout(TIMEOUT, sentinel.async_get_client()).await;
        let current = link.event_nodes.first()?.get_connection_info().addr();
        match named {
            Ok(Ok(client)) => Some(client.get_connection_info().addr() == current),
            _ => None,
        }
    }
}

/// Checks one node address the way the client will read it: redis:// or rediss://, a host
/// and a port, and no credentials (those come from the target, so they stay out of lists that
/// end up in logs and process listings).
pub fn check_node_address(url: &str) -> Result<(), String> {
    if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
        return Err("must start with redis:// or rediss://".into());
    }
    let info = url.into_connection_info().map_err(|e| e.to_string())?;
    let settings = info.redis_settings();
    if settings.username().is_some() || settings.password().is_some() {
        return Err("must not carry credentials: use store.username and store.password".into());
    }
    Ok(())
}
