//! The cluster PKI of a controller, under `<data-dir>/pki` with k0s's file names.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::authority::Authority;
use crate::error::Result;
use crate::files::{self, SECRET_MODE};
use crate::kubeconfig::{Kubeconfig, KubeconfigNames};
use crate::material;
use crate::names::{LeafSpec, San, Subject, Usage};
use crate::service_account::ensure_service_account_keys;

/// File stems under the PKI directory (k0s's names).
pub mod files_of {
    pub const CA: &str = "ca";
    pub const FRONT_PROXY_CA: &str = "front-proxy-ca";
    /// The API server's client certificate towards aggregated API servers.
    pub const FRONT_PROXY_CLIENT: &str = "front-proxy-client";
    /// The API server's client certificate towards kubelets (logs, exec, port-forward).
    pub const KUBELET_CLIENT: &str = "apiserver-kubelet-client";
    pub const ETCD_CA: &str = "etcd/ca";
    pub const API_SERVER: &str = "server";
    pub const ADMIN: &str = "admin";
    pub const ADMIN_KUBECONFIG: &str = "admin.conf";
    /// The scheduler's client certificate and kubeconfig (`scheduler.conf`).
    pub const SCHEDULER: &str = "scheduler";
    /// The controller manager's client certificate and kubeconfig (`ccm.conf`).
    pub const CONTROLLER_MANAGER: &str = "ccm";
}

/// The in-process components that talk to the API as clients: (file stem, user name).
const COMPONENT_CLIENTS: [(&str, &str); 2] = [
    (files_of::SCHEDULER, "system:kube-scheduler"),
    (
        files_of::CONTROLLER_MANAGER,
        "system:kube-controller-manager",
    ),
];

/// The group whose members bypass authorization (Kubernetes' `system:masters`).
pub const MASTERS_GROUP: &str = "system:masters";

/// Names used in the admin kubeconfig, as k0s writes it.
pub const ADMIN_KUBECONFIG_NAMES: KubeconfigNames<'static> = KubeconfigNames {
    cluster: "local",
    context: "Default",
    user: "user",
};

/// What the controller's PKI depends on.
#[derive(Debug, Clone)]
pub struct ClusterPkiSpec {
    /// `<data-dir>/pki`.
    pub dir: PathBuf,
    /// Subject alternative names of the API server certificate (see [`crate::api_server_sans`]).
    pub api_server_sans: BTreeSet<San>,
    /// The API server URL written into `admin.conf`.
    pub admin_server_url: String,
}

/// Creates whatever is missing of the controller's PKI and checks what exists: the cluster,
/// front-proxy and etcd authorities, the API server serving certificate, the admin and
/// front-proxy client certificates, the service-account key pair and `admin.conf`. Idempotent: a rerun on a complete
/// PKI writes nothing.
pub fn ensure_cluster_pki(spec: &ClusterPkiSpec) -> Result<()> {
    let dir = spec.dir.as_path();
    files::ensure_private_dir(dir)?;
    files::ensure_private_dir(&dir.join("etcd"))?;

    let ca = Authority::ensure(dir, files_of::CA, "kubernetes-ca")?;
    let front_proxy =
        Authority::ensure(dir, files_of::FRONT_PROXY_CA, "kubernetes-front-proxy-ca")?;
    Authority::ensure(dir, files_of::ETCD_CA, "etcd-ca")?;

    ca.ensure_leaf(
        dir,
        &LeafSpec {
            file: files_of::API_SERVER.into(),
            subject: Subject::new("kubernetes").with_organizations(&["kubernetes"]),
            usage: Usage::Server,
            sans: spec.api_server_sans.clone(),
        },
    )?;
    ca.ensure_leaf(
        dir,
        &LeafSpec {
            file: files_of::ADMIN.into(),
            subject: Subject::new("kubernetes-admin").with_organizations(&[MASTERS_GROUP]),
            usage: Usage::Client,
            sans: BTreeSet::new(),
        },
    )?;
    ca.ensure_leaf(
        dir,
        &LeafSpec {
            file: files_of::KUBELET_CLIENT.into(),
            subject: Subject::new(files_of::KUBELET_CLIENT).with_organizations(&[MASTERS_GROUP]),
            usage: Usage::Client,
            sans: BTreeSet::new(),
        },
    )?;
    front_proxy.ensure_leaf(
        dir,
        &LeafSpec {
            file: files_of::FRONT_PROXY_CLIENT.into(),
            subject: Subject::new("front-proxy-client"),
            usage: Usage::Client,
            sans: BTreeSet::new(),
        },
    )?;
    for (file, user) in COMPONENT_CLIENTS {
        ca.ensure_leaf(
            dir,
            &LeafSpec {
                file: file.into(),
                subject: Subject::new(user),
                usage: Usage::Client,
                sans: BTreeSet::new(),
            },
        )?;
        let kubeconfig = client_kubeconfig(dir, file, &spec.admin_server_url)?;
        files::write_if_changed(
            &dir.join(format!("{file}.conf")),
            &kubeconfig.to_yaml(),
            SECRET_MODE,
        )?;
    }
    ensure_service_account_keys(dir)?;

    let kubeconfig = admin_kubeconfig(dir, &spec.admin_server_url)?;
    files::write_if_changed(
        &dir.join(files_of::ADMIN_KUBECONFIG),
        &kubeconfig.to_yaml(),
        SECRET_MODE,
    )
}

/// The admin kubeconfig for `server`, from the admin certificate and the cluster CA in `dir`.
pub fn admin_kubeconfig(dir: &Path, server: &str) -> Result<Kubeconfig> {
    client_kubeconfig(dir, files_of::ADMIN, server)
}

/// A kubeconfig for `server` with the client certificate `<file>.crt` of `dir`.
fn client_kubeconfig(dir: &Path, file: &str, server: &str) -> Result<Kubeconfig> {
    let ca = Authority::load(dir, files_of::CA)?;
    let pair = material::load_pair(dir, file)?.ok_or_else(|| crate::PkiError::NotInitialised {
        path: material::pair_paths(dir, file).0,
    })?;
    ca.verify_issued(&pair)?;
    Ok(Kubeconfig::with_client_certificate(
        ADMIN_KUBECONFIG_NAMES,
        server,
        ca.cert_pem(),
        &pair.cert_pem,
        &pair.key_pem,
    ))
}
