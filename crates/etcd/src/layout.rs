//! Where a controller's etcd keeps its files and listens, as k0s lays them out.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use k0rs_store::etcd::EtcdTls;

/// etcd's own ports, as k0s uses them.
pub const CLIENT_PORT: u16 = 2379;
pub const PEER_PORT: u16 = 2380;

/// Other ports for tests that run several controllers on one network stack (each test host has
/// a network namespace of its own, where the defaults are free). Not a k0s setting.
const CLIENT_PORT_ENV: &str = "K0RS_ETCD_CLIENT_PORT";
const PEER_PORT_ENV: &str = "K0RS_ETCD_PEER_PORT";

/// One controller's etcd member: its name, files and URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The member name: the host name, as k0s names members.
    pub name: String,
    /// `<data-dir>/etcd`.
    pub data_dir: PathBuf,
    /// `<data-dir>/pki`: `etcd/{ca,server,peer}.{crt,key}` and `apiserver-etcd-client.{crt,key}`.
    pub pki_dir: PathBuf,
    /// `<run-dir>`: the pid file and etcd's output.
    pub run_dir: PathBuf,
    /// `spec.storage.etcd.peerAddress`: where the other members reach this one.
    pub peer_address: IpAddr,
    pub client_port: u16,
    pub peer_port: u16,
}

impl Layout {
    /// The layout of the member on a host with these directories; the ports are etcd's own
    /// unless `K0RS_ETCD_CLIENT_PORT`/`K0RS_ETCD_PEER_PORT` say otherwise.
    pub fn new(data_dir: &Path, run_dir: &Path, peer_address: IpAddr, name: String) -> Self {
        let port = |env: &str, default: u16| {
            std::env::var(env)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        Self {
            name,
            data_dir: data_dir.join("etcd"),
            pki_dir: data_dir.join("pki"),
            run_dir: run_dir.to_owned(),
            peer_address,
            client_port: port(CLIENT_PORT_ENV, CLIENT_PORT),
            peer_port: port(PEER_PORT_ENV, PEER_PORT),
        }
    }

    /// Where the local API server and the `etcd` commands reach this member.
    pub fn local_client_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.client_port)
    }

    /// The client URL other controllers reach this member on.
    pub fn client_url(&self) -> String {
        url(self.peer_address, self.client_port)
    }

    pub fn peer_url(&self) -> String {
        url(self.peer_address, self.peer_port)
    }

    /// The peer URL of the member at `address` (`k0rs etcd leave --peer-address`).
    pub fn peer_url_of(&self, address: IpAddr) -> String {
        url(address, self.peer_port)
    }

    /// Whether the member has data: a restart rejoins with it instead of bootstrapping.
    pub fn has_data(&self) -> bool {
        self.data_dir.join("member").is_dir()
    }

    pub fn pki(&self, file: &str) -> PathBuf {
        self.pki_dir.join(file)
    }

    /// `<run-dir>/etcd.pid`.
    pub fn pid_file(&self) -> PathBuf {
        self.run_dir.join("etcd.pid")
    }

    /// `<run-dir>/etcd.log`: etcd writes there rather than to a pipe, which it would lose (and
    /// exit) when k0rs is killed; k0rs forwards its lines to its own log.
    pub fn log_file(&self) -> PathBuf {
        self.run_dir.join("etcd.log")
    }

    /// The cluster's client URLs this member last saw (`<data-dir>/etcd-members`, outside the
    /// member's data, so that a member whose data was lost can still ask its cluster about it).
    pub fn known_members_file(&self) -> PathBuf {
        self.data_dir.with_file_name("etcd-members")
    }

    /// The API server's etcd client identity, which the `etcd` commands use too.
    pub fn client_tls(&self) -> anyhow::Result<EtcdTls> {
        let read = |file: &str| {
            let path = self.pki(file);
            std::fs::read_to_string(&path).with_context(|| {
                format!(
                    "cannot read {}; is this a controller with a k0rs-managed etcd?",
                    path.display()
                )
            })
        };
        Ok(EtcdTls {
            ca: read("etcd/ca.crt")?,
            cert: read("apiserver-etcd-client.crt")?,
            key: read("apiserver-etcd-client.key")?,
        })
    }
}

fn url(address: IpAddr, port: u16) -> String {
    match address {
        IpAddr::V4(v4) => format!("https://{v4}:{port}"),
        IpAddr::V6(v6) => format!("https://[{v6}]:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_bracket_ipv6_addresses() {
        let layout = Layout::new(
            Path::new("/d"),
            Path::new("/r"),
            "fd00::1".parse().unwrap(),
            "c1".into(),
        );
        assert_eq!(
            layout.peer_url_of("fd00::2".parse().unwrap()),
            format!("https://[fd00::2]:{}", layout.peer_port)
        );
        assert_eq!(layout.data_dir, Path::new("/d/etcd"));
        assert_eq!(layout.known_members_file(), Path::new("/d/etcd-members"));
    }
}
