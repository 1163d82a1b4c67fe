//! Test networks: a private LAN (a bridge in a network namespace of its own) and nodes attached
//! to it, each in its own network namespace with an address on 10.123.0.0/24. Nothing reaches the
//! host's network; dropping a namespace removes its interfaces.

use std::sync::atomic::{AtomicU32, Ordering};

use super::{stderr, tool};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The LAN bridge's own address: the nodes' gateway.
const GATEWAY: &str = "10.123.0.1";

fn ip(args: &[&str]) {
    let out = tool("ip", args);
    assert!(out.status.success(), "ip {args:?}: {}", stderr(&out));
}

/// A LAN: the bridge `br0` in namespace `name`.
/// The LAN's MTU.
pub const MTU: &str = "1400";

pub struct Lan {
    pub name: String,
    members: AtomicU32,
}

impl Lan {
    pub fn new() -> Self {
        let name = format!(
            "k0rs-l{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        ip(&["netns", "add", &name]);
        ip(&["-n", &name, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &name, "link", "set", "br0", "up"]);
        // The LAN's router, as a real network has one. Packets for other networks end here
        // (this namespace forwards nothing further).
        ip(&[
            "-n",
            &name,
            "addr",
            "add",
            &format!("{GATEWAY}/24"),
            "dev",
            "br0",
        ]);
        Self {
            name,
            members: AtomicU32::new(0),
        }
    }

    /// A new namespace on this LAN, with `eth0` at the next address (10.123.0.2, .3, …).
    pub fn join(&self) -> NetNs {
        let n = self.members.fetch_add(1, Ordering::SeqCst);
        let name = format!("{}-{n}", self.name);
        let address = format!("10.123.0.{}", n + 2);
        let port = format!("p{n}");
        ip(&["netns", "add", &name]);
        ip(&["-n", &name, "link", "set", "lo", "up"]);
        // Below Ethernet's 1500, as on cloud networks: pods must take the node's MTU.
        ip(&[
            "-n", &self.name, "link", "add", &port, "mtu", MTU, "type", "veth", "peer", "name",
            "eth0", "mtu", MTU, "netns", &name,
        ]);
        ip(&[
            "-n", &self.name, "link", "set", &port, "master", "br0", "up",
        ]);
        ip(&[
            "-n",
            &name,
            "addr",
            "add",
            &format!("{address}/24"),
            "dev",
            "eth0",
        ]);
        ip(&["-n", &name, "link", "set", "eth0", "up"]);
        // A route for the service CIDR, as a host's default route gives one: service IPs
        // without endpoints are routed (and so reach the proxy's REJECT in FORWARD) instead of
        // failing the route lookup. (A default route would also send the host resolver's
        // queries, e.g. containerd's for docker.io, to a gateway that drops them, where they now
        // fail at once.)
        ip(&["-n", &name, "route", "add", "10.96.0.0/12", "via", GATEWAY]);
        NetNs { name, address }
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        let _ = tool("ip", &["netns", "del", &self.name]);
    }
}

/// One node's network namespace.
pub struct NetNs {
    pub name: String,
    pub address: String,
}

impl NetNs {
    /// `program` run inside this namespace (only the network namespace: mounts and cgroups stay
    /// the host's, as containerd and runc need them).
    pub fn command(&self, program: &str) -> std::process::Command {
        let mut cmd = std::process::Command::new("nsenter");
        cmd.arg(format!("--net=/run/netns/{}", self.name))
            .arg("--")
            .arg(program);
        cmd
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = tool("ip", &["netns", "del", &self.name]);
    }
}
