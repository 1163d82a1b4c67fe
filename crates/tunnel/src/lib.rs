//! The control plane → node tunnel (k0s runs konnectivity for this): a node whose kubelet the
//! controllers cannot dial (a worker behind NAT) keeps an outbound connection to every controller,
//! and the controller's API server reaches the node's kubelet — and pods, for aggregated API
//! servers — through it.
//!
//! No multiplexer: the node's control connection carries only short messages. When the API server
//! needs a connection to an address on node N, the server sends `open <id> <address>` over N's
//! control connection; the node's [`Agent`] dials the address and a fresh TLS connection back to
//! the server, presents the id, and splices the two. The server hands that connection to the
//! waiting dial as a [`TunnelStream`], over which the API server speaks to the kubelet as if it
//! had dialled it (its own TLS to the kubelet inside). Each stream is a TCP connection of its own,
//! so an upgraded exec or port-forward stream gets TCP's flow control and nothing it carries can
//! hold up another stream.
//!
//! Both ends authenticate with the cluster CA: the server with its serving certificate, a node
//! with its client certificate (`system:node:<name>`), and a node may open tunnels only for its
//! own name. The protocol is in [`protocol`]; konnectivity-server's metrics in [`metrics`].

mod agent;
pub mod metrics;
pub mod protocol;
mod server;
mod tls;

use std::time::Duration;

pub use agent::{Agent, AgentOptions, IdentitySource};
pub use server::{ServerTls, TunnelServer, TunnelStream, Tunnels};
pub use tls::{NodeIdentity, ServerIdentity};

/// The component tag of the tunnel's log lines, on both ends.
const COMPONENT: &str = "tunnel";

/// How often the server checks that a node's control connection is alive.
const PING_EVERY: Duration = Duration::from_secs(10);

/// Either end gives up a control connection that stayed silent this long.
const DEAD_AFTER: Duration = Duration::from_secs(30);

/// How long a connection may take to connect, shake hands and say what it is.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
