//! The public-key infrastructure of a k0rs cluster.
//!
//! A controller keeps its certificate authorities, serving and client certificates, the
//! service-account signing key and the admin kubeconfig under `<data-dir>/pki`, with the file names
//! k0s uses (`ca.crt`, `server.crt`, `admin.conf`, `etcd/ca.crt`, …). Everything is created on the
//! first start and only checked afterwards: a rerun writes nothing, and a corrupt or mismatched file
//! is an error naming that file — never silently replaced. Keys are ECDSA P-256, files holding keys
//! are mode 0600 in directories of mode 0700.

mod any_certificate;
mod authority;
mod cluster;
mod error;
mod etcd;
mod files;
mod host;
mod kubeconfig;
mod material;
mod names;
mod primary_address;
mod requests;
mod sans;
mod service_account;
mod subject;

pub use any_certificate::AnyCertificate;
pub use authority::Authority;
pub use cluster::{
    ADMIN_KUBECONFIG_NAMES, ClusterPkiSpec, MASTERS_GROUP, admin_kubeconfig, ensure_cluster_pki,
    files_of,
};
pub use error::PkiError;
pub use etcd::{ETCD_CLIENT, ETCD_PEER, ETCD_SERVER, ensure_etcd_certificates};
pub use kubeconfig::{Kubeconfig, KubeconfigNames};
pub use names::{LeafSpec, San, Subject, Usage};
pub use requests::new_request;
pub use sans::api_server_sans;

/// Facts about this host that certificates depend on.
pub mod host_facts {
    pub use crate::host::{addresses, hostname};
    pub use crate::primary_address::{is_cluster_interface, primary_address};
}
