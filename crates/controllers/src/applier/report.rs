//! What goes wrong, said twice: in the controller's log and as a Warning event, so that
//! `kubectl get events -n kube-system` shows a broken manifest to someone without access to the
//! host. The events name the applier's Lease as their object: a broken file has no object of its
//! own, and the Lease is the applier's one object in the API.

use k0rs_runtime::events::{Recorder, Type};
use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;

use super::LEASE;
use super::apply::Failure;
use super::manifests::Broken;
use super::prune::Live;

/// The event reason of a file none of whose objects is applied.
pub const INVALID_MANIFEST: &str = "InvalidManifest";
/// The event reason of an object that could not be applied.
pub const APPLY_FAILED: &str = "ApplyFailed";
/// The event reason of an object that could not be pruned.
pub const PRUNE_FAILED: &str = "PruneFailed";

#[derive(Clone)]
pub struct Reporter {
    recorder: Recorder,
    subject: ObjectReference,
}

impl Reporter {
    pub fn new(client: Client) -> Self {
        Self {
            // k0s's component name, as --disable-components knows it.
            recorder: Recorder::new(client, "applier-manager", None),
            subject: ObjectReference {
                api_version: Some("coordination.k8s.io/v1".to_owned()),
                kind: Some("Lease".to_owned()),
                namespace: Some("kube-system".to_owned()),
                name: Some(LEASE.to_owned()),
                ..ObjectReference::default()
            },
        }
    }

    pub async fn broken(&self, stack: &str, broken: &Broken) {
        let message = if broken.file.is_empty() {
            format!("stack {stack}: {}", broken.error)
        } else {
            format!(
                "stack {stack}: {}: {}; none of its objects is applied",
                broken.file, broken.error
            )
        };
        tracing::error!(component = "applier", stack, file = %broken.file, error = %broken.error, "broken manifest; the rest of the stack is applied, and nothing of the stack is pruned until it is fixed");
        self.warn(INVALID_MANIFEST, &message).await;
    }

    pub async fn failed(&self, stack: &str, failure: &Failure) {
        tracing::warn!(component = "applier", stack, file = %failure.file, object = %failure.object, error = %failure.error, "cannot apply; trying again");
        let message = format!(
            "stack {stack}: {}: {}: {}",
            failure.file, failure.object, failure.error
        );
        self.warn(APPLY_FAILED, &message).await;
    }

    pub async fn prune_failed(&self, live: &Live, error: &str) {
        tracing::warn!(component = "applier", stack = %live.stack, object = %live.id, %error, "cannot prune; trying again");
        let message = format!("stack {}: cannot delete {}: {error}", live.stack, live.id);
        self.warn(PRUNE_FAILED, &message).await;
    }

    async fn warn(&self, reason: &str, message: &str) {
        self.recorder
            .record(&self.subject, Type::Warning, reason, message)
            .await;
    }
}
