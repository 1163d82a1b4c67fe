//! ControllerRevisions: the pod templates a DaemonSet or StatefulSet has had, numbered, so that
//! pods can be told apart by revision and `kubectl rollout history|undo` can list and restore
//! them. A revision's `data` is the patch that restores its template, and it carries its owner's
//! annotations (the change-cause) as they were when it was made, as in Kubernetes.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt as _};
use serde_json::json;

use super::pods;
use super::rollout::template_hash;

pub const HASH_LABEL: &str = "controller-revision-hash";

/// The revision a controller's pods should have now.
#[derive(Debug, Clone)]
pub struct Current {
    /// `<owner>-<hash>`.
    pub name: String,
    pub hash: String,
}

/// An owner of revisions: its metadata, kind, pod template and selector labels.
pub struct Owner<'a> {
    pub meta: &'a ObjectMeta,
    pub kind: &'a str,
    pub template: &'a PodTemplateSpec,
    pub labels: std::collections::BTreeMap<String, String>,
    pub history_limit: i32,
}

fn data(template: &PodTemplateSpec) -> serde_json::Value {
    let mut template = serde_json::to_value(template).unwrap_or_default();
    template["$patch"] = json!("replace");
    json!({ "spec": { "template": template } })
}

/// The revisions `owner` has, oldest first.
pub fn owned(all: &[Arc<ControllerRevision>], owner: &ObjectMeta) -> Vec<Arc<ControllerRevision>> {
    let uid = owner.uid.clone().unwrap_or_default();
    let mut revisions: Vec<Arc<ControllerRevision>> = all
        .iter()
        .filter(|r| r.metadata.namespace == owner.namespace && pods::owned_by(&r.metadata, &uid))
        .cloned()
        .collect();
    revisions.sort_by_key(|r| r.revision);
    revisions
}

/// The revision of the owner's template: an existing one (renumbered newest if it was an older
/// one, a rollback) or a new one; older ones beyond the history limit are deleted.
pub async fn current(
    client: &Client,
    owner: &Owner<'_>,
    existing: &[Arc<ControllerRevision>],
) -> kube::Result<Current> {
    let namespace = owner.meta.namespace.clone().unwrap_or_default();
    let api = Api::<ControllerRevision>::namespaced(client.clone(), &namespace);
    let data = data(owner.template);
    let newest = existing.iter().map(|r| r.revision).max().unwrap_or(0);
    let hash = template_hash(&data, 0);
    let name = format!("{}-{hash}", owner.meta.name.clone().unwrap_or_default());
    match existing
        .iter()
        .find(|r| r.data.as_ref().map(|d| &d.0) == Some(&data))
    {
        Some(revision) if revision.revision < newest => {
            let patch = json!({ "revision": newest + 1 });
            api.patch(
                &revision.name_any(),
                &PatchParams::default(),
                &Patch::Merge(patch),
            )
            .await?;
        }
        Some(_) => {}
        None => {
            let mut labels = owner.labels.clone();
            labels.insert(HASH_LABEL.to_owned(), hash.clone());
            let revision = ControllerRevision {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    labels: Some(labels),
                    // `kubectl rollout history` reads the change-cause of each revision here.
                    annotations: owner.meta.annotations.clone(),
                    owner_references: Some(vec![pods::controller_ref(
                        owner.meta, "apps/v1", owner.kind,
                    )]),
                    ..ObjectMeta::default()
                },
                data: Some(RawExtension(data)),
                revision: newest + 1,
            };
            match api.create(&PostParams::default(), &revision).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 409 => {}
                Err(e) => return Err(e),
            }
        }
    }
    let keep = usize::try_from(owner.history_limit.max(0)).unwrap_or(0) + 1;
    let surplus = existing.len().saturating_sub(keep);
    for old in existing
        .iter()
        .filter(|r| r.name_any() != name)
        .take(surplus)
    {
        let _ = api.delete(&old.name_any(), &DeleteParams::default()).await;
    }
    Ok(Current { name, hash })
}
