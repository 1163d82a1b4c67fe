//! A controller's ControlNode, as k0s keeps it: named after the host, labelled with its OS, arch
//! and hostname (what a plan's selectors and platforms look at), with the version it runs and
//! its addresses in the status. Written at every start, so that the version is the running one.

use k8s_openapi::api::core::v1::NodeAddress;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

use crate::api::{ControlNode, ControlNodeStatus};

/// Creates or refreshes the ControlNode `name`.
pub async fn register(
    client: &Client,
    name: &str,
    version: &str,
    addresses: &[NodeAddress],
) -> kube::Result<()> {
    let api = Api::<ControlNode>::all(client.clone());
    let labels = json!({
        "kubernetes.io/os": std::env::consts::OS,
        "kubernetes.io/arch": arch(),
        "kubernetes.io/hostname": name,
    });
    if api.get_opt(name).await?.is_none() {
        let object: ControlNode = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": labels},
        }))
        .map_err(kube::Error::SerdeError)?;
        match api.create(&PostParams::default(), &object).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(error) => return Err(error),
        }
    } else {
        api.patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": labels}})),
        )
        .await?;
    }
    let status = ControlNodeStatus {
        addresses: addresses.to_vec(),
        k0s_version: version.to_owned(),
    };
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": status})),
    )
    .await?;
    Ok(())
}

/// Kubernetes' name of this machine's architecture.
pub fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "riscv64" => "riscv64",
        "s390x" => "s390x",
        "powerpc64" => "ppc64le",
        other => other,
    }
}
