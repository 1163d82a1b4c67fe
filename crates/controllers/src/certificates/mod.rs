//! The certificate controllers: the CSR approver approves kubelets' requests for their client
//! certificates (from a bootstrap token, or renewing their own, each checked with a
//! SubjectAccessReview as Kubernetes' csrapproving controller does) and for their serving
//! certificates (asked by the node itself for its own names); the CSR signer issues approved
//! requests of the kubelet and API-client signers from the cluster CA.

mod approver;
mod request;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k0rs_runtime::run_controller;
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use k8s_openapi::chrono::Utc;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt as _};
use serde_json::json;

use k0rs_pki::Authority;

/// The signers whose approved requests are issued here.
const SIGNERS: [&str; 3] = [
    "kubernetes.io/kube-apiserver-client",
    "kubernetes.io/kube-apiserver-client-kubelet",
    "kubernetes.io/kubelet-serving",
];
/// kube-controller-manager's `--cluster-signing-duration`.
const DEFAULT_VALIDITY: Duration = Duration::from_hours(365 * 24);

struct Context {
    client: Client,
    authority: Option<Authority>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Api(#[from] kube::Error),
    #[error("cannot sign {name}: {reason}")]
    Sign { name: String, reason: String },
}

/// Runs the approver and the signer until dropped; the signer uses the CA in `ca_dir`.
pub async fn run(client: Client, ca_dir: Option<PathBuf>) {
    let authority = ca_dir.and_then(|dir| match Authority::load(&dir, "ca") {
        Ok(authority) => Some(authority),
        Err(e) => {
            tracing::warn!(component = "csr-signer", error = %e, "no cluster CA: requests are not signed");
            None
        }
    });
    let context = Arc::new(Context {
        client: client.clone(),
        authority,
    });
    let controller = Controller::new(
        Api::<CertificateSigningRequest>::all(client),
        watcher::Config::default(),
    );
    run_controller("csr-controller", controller, reconcile, context).await;
}

fn has_condition(csr: &CertificateSigningRequest, kind: &str) -> bool {
    csr.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == kind && c.status == "True")
}

async fn reconcile(
    csr: Arc<CertificateSigningRequest>,
    context: Arc<Context>,
) -> Result<Action, Error> {
    if has_condition(&csr, "Denied") || has_condition(&csr, "Failed") {
        return Ok(Action::await_change());
    }
    let api = Api::<CertificateSigningRequest>::all(context.client.clone());
    if !has_condition(&csr, "Approved") {
        if let Some(message) = approver::approves(&context.client, &csr).await? {
            let now = Utc::now();
            let approval = json!({ "status": { "conditions": [{
                "type": "Approved", "status": "True", "reason": "AutoApproved",
                "message": message, "lastUpdateTime": now, "lastTransitionTime": now,
            }]}});
            api.patch_approval(
                &csr.name_any(),
                &PatchParams::default(),
                &Patch::Merge(approval),
            )
            .await?;
            tracing::info!(component = "csr-approver", csr = %csr.name_any(), "approved");
        }
        return Ok(Action::await_change());
    }
    let issued = csr
        .status
        .as_ref()
        .and_then(|s| s.certificate.as_ref())
        .is_some_and(|c| !c.0.is_empty());
    if issued || !SIGNERS.contains(&csr.spec.signer_name.as_str()) {
        return Ok(Action::await_change());
    }
    let Some(authority) = &context.authority else {
        return Ok(Action::await_change());
    };
    let fail = |reason: String| Error::Sign {
        name: csr.name_any(),
        reason,
    };
    let request = String::from_utf8(csr.spec.request.0.clone()).map_err(|e| fail(e.to_string()))?;
    let validity = csr
        .spec
        .expiration_seconds
        .and_then(|s| u64::try_from(s).ok())
        .map_or(DEFAULT_VALIDITY, |s| {
            Duration::from_secs(s).min(DEFAULT_VALIDITY)
        });
    let usages = csr.spec.usages.clone().unwrap_or_default();
    let certificate = authority
        .sign_request(&request, &usages, validity)
        .map_err(|e| fail(e.to_string()))?;
    let status =
        json!({ "status": { "certificate": k8s_openapi::ByteString(certificate.into_bytes()) } });
    api.patch_status(
        &csr.name_any(),
        &PatchParams::default(),
        &Patch::Merge(status),
    )
    .await?;
    tracing::info!(component = "csr-signer", csr = %csr.name_any(), signer = %csr.spec.signer_name, "issued");
    Ok(Action::await_change())
}
