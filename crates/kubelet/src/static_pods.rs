//! Static pods: Pod manifests in a directory of the node (`--pod-manifest-path`; by default
//! `<data-dir>/kubelet/manifests`), read every few seconds. Each becomes a mirror pod in the API
//! (`<name>-<node>`, annotated `kubernetes.io/config.mirror`, owned by the Node), which the pod
//! workers then run like any pod bound here. A changed manifest replaces its pod; a removed one
//! deletes it. Unlike the upstream kubelet, the pod runs from its mirror: deleting the mirror
//! restarts the pod (the mirror is made again) instead of leaving it running untouched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::{Api, ResourceExt as _};
use serde_json::json;
use sha2::Digest as _;

/// How often the directory is read (the kubelet's `fileCheckFrequency` is 20 s).
const CHECK_EVERY: Duration = Duration::from_secs(5);
pub const MIRROR_ANNOTATION: &str = "kubernetes.io/config.mirror";
const HASH_ANNOTATION: &str = "kubernetes.io/config.hash";
const SOURCE_ANNOTATION: &str = "kubernetes.io/config.source";

/// The node the static pods are for.
#[derive(Debug, Clone)]
pub struct StaticPods {
    pub dir: PathBuf,
    pub node_name: String,
    pub node_uid: String,
}

impl StaticPods {
    /// Keeps the mirror pods in line with the directory until dropped.
    pub async fn run(self, client: kube::Client) {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        // A manifest that does not parse is reported once per content, not every round.
        let mut reported = String::new();
        loop {
            tick.tick().await;
            let (desired, errors) = self.read();
            if !errors.is_empty() && errors != reported {
                tracing::warn!(component = "kubelet", dir = %self.dir.display(), errors, "static pod manifests skipped");
            }
            reported = errors;
            if let Err(error) = self.sync(&client, desired).await {
                tracing::warn!(
                    component = "kubelet",
                    error = format!("{error:#}"),
                    "cannot sync static pods"
                );
            }
        }
    }

    /// Mirror pods from every manifest, by namespace/name; and what could not be read.
    fn read(&self) -> (BTreeMap<(String, String), Pod>, String) {
        let mut pods = BTreeMap::new();
        let mut errors = Vec::new();
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return (pods, String::new());
        };
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for path in files.iter().filter(|p| is_manifest(p)) {
            match manifest_pods(path) {
                Ok(found) => {
                    for pod in found {
                        let mirror = self.mirror(pod, path);
                        let key = (mirror.namespace().unwrap_or_default(), mirror.name_any());
                        pods.insert(key, mirror);
                    }
                }
                Err(error) => errors.push(format!("{}: {error:#}", path.display())),
            }
        }
        (pods, errors.join("; "))
    }

    /// The mirror of a manifest's pod: renamed for the node, bound to it, owned by it.
    fn mirror(&self, mut pod: Pod, path: &Path) -> Pod {
        let hash = content_hash(&pod, &self.node_name);
        let meta = &mut pod.metadata;
        meta.name = Some(format!(
            "{}-{}",
            meta.name.as_deref().unwrap_or_default(),
            self.node_name
        ));
        meta.namespace.get_or_insert_with(|| "default".to_owned());
        for field in [
            &mut meta.uid,
            &mut meta.resource_version,
            &mut meta.generate_name,
        ] {
            *field = None;
        }
        let annotations = meta.annotations.get_or_insert_with(BTreeMap::new);
        annotations.insert(SOURCE_ANNOTATION.into(), "file".into());
        annotations.insert(HASH_ANNOTATION.into(), hash.clone());
        annotations.insert(MIRROR_ANNOTATION.into(), hash);
        annotations.insert(
            "kubernetes.io/config.file".into(),
            path.display().to_string(),
        );
        meta.owner_references = Some(vec![
            serde_json::from_value(json!({
                "apiVersion": "v1", "kind": "Node", "name": self.node_name,
                "uid": self.node_uid, "controller": true,
            }))
            .expect("a valid owner reference"),
        ]);
        let spec = pod.spec.get_or_insert_with(Default::default);
        spec.node_name = Some(self.node_name.clone());
        // Static pods may not use the API's service accounts (the API server rejects mirror pods
        // that do), and tolerate every NoExecute taint, as upstream's do.
        spec.service_account_name = None;
        spec.automount_service_account_token = Some(false);
        spec.tolerations.get_or_insert_with(Vec::new).push(
            serde_json::from_value(json!({"operator": "Exists", "effect": "NoExecute"}))
                .expect("a valid toleration"),
        );
        pod
    }

    async fn sync(
        &self,
        client: &kube::Client,
        mut desired: BTreeMap<(String, String), Pod>,
    ) -> anyhow::Result<()> {
        let all: Api<Pod> = Api::all(client.clone());
        let bound = ListParams::default().fields(&format!("spec.nodeName={}", self.node_name));
        let mirrors = all
            .list(&bound)
            .await
            .context("cannot list the node's pods")?;
        for mirror in mirrors
            .items
            .iter()
            .filter(|p| p.annotations().contains_key(MIRROR_ANNOTATION))
        {
            let key = (mirror.namespace().unwrap_or_default(), mirror.name_any());
            let api: Api<Pod> = Api::namespaced(client.clone(), &key.0);
            let current = mirror.annotations().get(MIRROR_ANNOTATION);
            match desired.get(&key) {
                // In place and up to date, or on its way out (made again once it is gone).
                Some(want) if want.annotations().get(MIRROR_ANNOTATION) == current => {
                    desired.remove(&key);
                }
                _ if mirror.metadata.deletion_timestamp.is_some() => {
                    desired.remove(&key);
                }
                // Changed or removed manifest: the old pod goes first.
                _ => {
                    tracing::info!(
                        component = "kubelet",
                        pod = key.1,
                        namespace = key.0,
                        "static pod changed or removed; deleting its mirror"
                    );
                    api.delete(&key.1, &DeleteParams::default()).await?;
                    desired.remove(&key);
                }
            }
        }
        for ((namespace, name), pod) in desired {
            let api: Api<Pod> = Api::namespaced(client.clone(), &namespace);
            match api.create(&PostParams::default(), &pod).await {
                Ok(_) => tracing::info!(
                    component = "kubelet",
                    pod = name,
                    namespace,
                    "created the mirror of a static pod"
                ),
                Err(kube::Error::Api(e)) if e.code == 409 => {
                    tracing::warn!(
                        component = "kubelet",
                        pod = name,
                        namespace,
                        "a pod that is not this static pod's mirror has its name"
                    );
                }
                Err(error) => {
                    tracing::warn!(component = "kubelet", pod = name, namespace, %error, "cannot create the mirror of a static pod");
                }
            }
        }
        Ok(())
    }
}

fn is_manifest(path: &Path) -> bool {
    let hidden = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_none_or(|n| n.starts_with('.'));
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    !hidden && path.is_file() && matches!(extension, "yaml" | "yml" | "json")
}

/// Every Pod in a manifest file (YAML documents or JSON); anything else in it is an error.
fn manifest_pods(path: &Path) -> anyhow::Result<Vec<Pod>> {
    let text = std::fs::read_to_string(path).context("cannot read")?;
    let mut pods = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(&text) {
        let value: serde_json::Value =
            serde::Deserialize::deserialize(document).context("not YAML")?;
        if value.is_null() {
            continue;
        }
        anyhow::ensure!(
            value["kind"] == "Pod" && value["apiVersion"] == "v1",
            "only v1 Pods may be static pods, not {} {}",
            value["apiVersion"],
            value["kind"]
        );
        let pod: Pod = serde_json::from_value(value).context("not a valid Pod")?;
        anyhow::ensure!(
            pod.metadata.name.as_deref().is_some_and(|n| !n.is_empty()),
            "the pod has no name"
        );
        pods.push(pod);
    }
    Ok(pods)
}

/// The identity of a static pod's content on this node (upstream hashes the pod with the node
/// name too, so each node's pod differs).
fn content_hash(pod: &Pod, node: &str) -> String {
    let mut hasher = sha2::Sha256::new();
    hasher.update(serde_json::to_vec(pod).unwrap_or_default());
    hasher.update(node.as_bytes());
    hasher
        .finalize()
        .iter()
        .take(16)
        .fold(String::with_capacity(32), |mut hex, b| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_become_mirrors_of_this_node() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("web.yaml"),
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {app: web}}\nspec:\n  containers: [{name: c, image: busybox}]\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("bad.yaml"),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join(".hidden.yaml"), "not: [valid").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let source = StaticPods {
            dir: dir.path().to_owned(),
            node_name: "n1".into(),
            node_uid: "uid-1".into(),
        };
        let (pods, errors) = source.read();
        assert!(
            errors.contains("bad.yaml") && errors.contains("only v1 Pods"),
            "{errors}"
        );
        let mirror = &pods[&("default".to_owned(), "web-n1".to_owned())];
        let annotations = mirror.annotations();
        assert_eq!(annotations[SOURCE_ANNOTATION], "file");
        assert_eq!(annotations[MIRROR_ANNOTATION], annotations[HASH_ANNOTATION]);
        assert_eq!(mirror.labels()["app"], "web");
        let spec = mirror.spec.as_ref().unwrap();
        assert_eq!(spec.node_name.as_deref(), Some("n1"));
        assert_eq!(mirror.owner_references()[0].kind, "Node");

        // Another node, or another content: another hash.
        let other = StaticPods {
            node_name: "n2".into(),
            ..source.clone()
        };
        let (theirs, _) = other.read();
        let hash = |pods: &BTreeMap<(String, String), Pod>, name: &str| {
            pods[&("default".to_owned(), name.to_owned())].annotations()[MIRROR_ANNOTATION].clone()
        };
        assert_ne!(hash(&pods, "web-n1"), hash(&theirs, "web-n2"));
        std::fs::write(
            dir.path().join("web.yaml"),
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: c, image: busybox:1.35}]\n",
        )
        .unwrap();
        let (changed, _) = source.read();
        assert_ne!(hash(&pods, "web-n1"), hash(&changed, "web-n1"));
        assert_eq!(source.read().0.len(), 1);
    }
}
