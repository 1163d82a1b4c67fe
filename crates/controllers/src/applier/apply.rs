//! Applying one stack: server-side apply of every object under the applier's field manager,
//! forced (the files are the truth for the fields they name), CustomResourceDefinitions first
//! and then, once they are established and discovered again, everything else — Namespaces and
//! other cluster-scoped objects before namespaced ones. An object whose live copy carries the
//! checksum of its file already is left alone, as k0s does, so an unchanged stack costs a read
//! per object. One object failing does not stop the others.

use std::collections::HashSet;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DynamicObject, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::Value;

use super::discovery::{Resources, discover};
use super::manifests::{Manifest, ObjectId};
use super::{CHECKSUM_ANNOTATION, FIELD_MANAGER};

/// How long a new CRD may take to be established before its objects are tried anyway.
const ESTABLISH_WITHIN: Duration = Duration::from_secs(10);

/// An object that could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub file: String,
    pub object: ObjectId,
    pub error: String,
}

/// What applying a stack did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The objects the stack wants, with the namespace the cluster gives them (`default` for a
    /// namespaced object whose file names none; none for a cluster-scoped one).
    pub wanted: HashSet<ObjectId>,
    /// The UIDs of the stack's live objects, so that an object seen under another group (core
    /// and `events.k8s.io` Events) is recognised as the same.
    pub uids: HashSet<String>,
    pub written: usize,
    pub unchanged: usize,
    pub failures: Vec<Failure>,
}

/// Applies `manifests` in order; `resources` is discovered again after new CRDs.
pub async fn apply_stack(
    client: &Client,
    resources: &mut Resources,
    manifests: &[Manifest],
) -> Outcome {
    let mut outcome = Outcome::default();
    let mut ordered: Vec<&Manifest> = manifests.iter().collect();
    ordered.sort_by_key(|m| rank(m));
    let (crds, rest): (Vec<&Manifest>, Vec<&Manifest>) =
        ordered.into_iter().partition(|m| is_crd(&m.id));
    let mut new_crds = Vec::new();
    for manifest in crds {
        if apply_one(client, resources, manifest, &mut outcome).await == Some(true) {
            new_crds.push(manifest.id.name.clone());
        }
    }
    if !new_crds.is_empty() {
        wait_established(client, &new_crds).await;
        match discover(client).await {
            Ok(fresh) => *resources = fresh,
            Err(error) => {
                tracing::warn!(component = "applier", %error, "cannot discover the new CRDs' kinds; using what was known");
            }
        }
    }
    for manifest in rest {
        apply_one(client, resources, manifest, &mut outcome).await;
    }
    outcome
}

/// CRDs, then Namespaces, then the other objects without a namespace, then namespaced ones.
fn rank(manifest: &Manifest) -> u8 {
    let id = &manifest.id;
    if is_crd(id) {
        0
    } else if id.group.is_empty() && id.kind == "Namespace" {
        1
    } else if id.namespace.is_none() {
        2
    } else {
        3
    }
}

fn is_crd(id: &ObjectId) -> bool {
    id.group == "apiextensions.k8s.io" && id.kind == "CustomResourceDefinition"
}

/// Applies one object unless its live copy has its checksum already; records what happened.
/// `Some(true)` when it was written, `Some(false)` when it was up to date, `None` on failure.
async fn apply_one(
    client: &Client,
    resources: &Resources,
    manifest: &Manifest,
    outcome: &mut Outcome,
) -> Option<bool> {
    let id = &manifest.id;
    let Some(resource) = resources.resolve(&id.group, &manifest.version, &id.kind) else {
        outcome.wanted.insert(id.clone());
        let api_version = manifest.object["apiVersion"].as_str().unwrap_or_default();
        outcome.failures.push(Failure {
            file: manifest.file.clone(),
            object: id.clone(),
            error: format!("the API server serves no kind {} in {api_version}", id.kind),
        });
        return None;
    };
    let mut object = manifest.object.clone();
    let namespace = if resource.namespaced {
        let namespace = id.namespace.clone().unwrap_or_else(|| "default".to_owned());
        object["metadata"]["namespace"] = Value::String(namespace.clone());
        Some(namespace)
    } else {
        // A namespace on a cluster-scoped object means nothing; kubectl drops it too.
        if let Some(metadata) = object["metadata"].as_object_mut() {
            metadata.remove("namespace");
        }
        None
    };
    outcome.wanted.insert(ObjectId {
        namespace: namespace.clone(),
        ..id.clone()
    });
    let api: Api<DynamicObject> = match &namespace {
        Some(namespace) => Api::namespaced_with(client.clone(), namespace, &resource.api),
        None => Api::all_with(client.clone(), &resource.api),
    };
    let result = async {
        if let Some(live) = api.get_opt(&id.name).await? {
            let checksum = live
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(CHECKSUM_ANNOTATION));
            if checksum == Some(&manifest.checksum) {
                return Ok((live, false));
            }
        }
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let applied = api.patch(&id.name, &params, &Patch::Apply(&object)).await?;
        Ok::<_, kube::Error>((applied, true))
    }
    .await;
    match result {
        Ok((live, written)) => {
            outcome.uids.extend(live.metadata.uid);
            if written {
                outcome.written += 1;
            } else {
                outcome.unchanged += 1;
            }
            Some(written)
        }
        Err(error) => {
            outcome.failures.push(Failure {
                file: manifest.file.clone(),
                object: id.clone(),
                error: describe(&error),
            });
            None
        }
    }
}

/// An API error as the API server said it; others as kube-rs does.
fn describe(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => format!("{} ({})", status.message, status.reason),
        other => other.to_string(),
    }
}

/// Waits, up to [`ESTABLISH_WITHIN`] in all, until each CRD named is established, so that its
/// kind is served when the objects of that kind are applied (k0s waits likewise). A CRD that
/// is not established by then is not an error here: its objects fail and are tried again.
async fn wait_established(client: &Client, names: &[String]) {
    let api = Api::<CustomResourceDefinition>::all(client.clone());
    let deadline = tokio::time::Instant::now() + ESTABLISH_WITHIN;
    for name in names {
        loop {
            let established = api.get_opt(name).await.ok().flatten().is_some_and(|crd| {
                crd.status
                    .and_then(|s| s.conditions)
                    .unwrap_or_default()
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            });
            if established || tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::applier::manifests::{Files, parse_stack};

    #[test]
    fn crds_come_first_then_namespaces_then_cluster_then_namespaced_objects() {
        let files: Files = [(
            "all.yaml".to_owned(),
            b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: n}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\n"
                .to_vec(),
        )]
        .into();
        let stack = parse_stack("s", &files);
        let mut ordered: Vec<&Manifest> = stack.manifests.iter().collect();
        ordered.sort_by_key(|m| rank(m));
        let kinds: Vec<&str> = ordered.iter().map(|m| m.id.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "CustomResourceDefinition",
                "Namespace",
                "Widget",
                "Deployment"
            ]
        );
    }
}
