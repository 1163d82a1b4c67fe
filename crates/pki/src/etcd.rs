//! Certificates for an etcd the controllers use: its serving certificate, its peer certificate
//! (members authenticate each other with it) and the API server's client certificate, all from
//! the etcd CA (k0s's `etcd/server.crt`, `etcd/peer.crt`, `apiserver-etcd-client.crt`).

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use crate::authority::Authority;
use crate::cluster::files_of;
use crate::error::Result;
use crate::files;
use crate::names::{LeafSpec, San, Subject, Usage};

/// File stems of the etcd certificates.
pub const ETCD_SERVER: &str = "etcd/server";
pub const ETCD_PEER: &str = "etcd/peer";
pub const ETCD_CLIENT: &str = "apiserver-etcd-client";

/// Keeps the etcd serving and peer certificates (for loopback and `peer_address`) and the etcd
/// client certificate issued by `<dir>/etcd/ca`, creating the CA too if needed.
pub fn ensure_etcd_certificates(dir: &Path, peer_address: Option<IpAddr>) -> Result<()> {
    files::ensure_private_dir(dir)?;
    files::ensure_private_dir(&dir.join("etcd"))?;
    let ca = Authority::ensure(dir, files_of::ETCD_CA, "etcd-ca")?;
    let mut sans: BTreeSet<San> = [
        San::Dns("localhost".into()),
        San::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        San::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)),
    ]
    .into();
    sans.extend(peer_address.map(San::Ip));
    ca.ensure_leaf(
        dir,
        &LeafSpec {
            file: ETCD_SERVER.into(),
            subject: Subject::new("etcd-server").with_organizations(&["etcd-server"]),
            usage: Usage::ServerAndClient,
            sans: sans.clone(),
        },
    )?;
    // A member serves its peers and is their client with the same certificate.
    ca.ensure_leaf(
        dir,
        &LeafSpec {
            file: ETCD_PEER.into(),
            subject: Subject::new("etcd-peer").with_organizations(&["etcd-peer"]),
            usage: Usage::ServerAndClient,
            sans,
        },
    )?;
    ca.ensure_leaf(
        dir,
        &LeafSpec {
            file: ETCD_CLIENT.into(),
            subject: Subject::new(ETCD_CLIENT).with_organizations(&[ETCD_CLIENT]),
            usage: Usage::Client,
            sans: BTreeSet::new(),
        },
    )
}
