//! Which images a k0rs cluster runs. Of the images k0s lists (CoreDNS, kube-proxy, kube-router,
//! konnectivity, metrics-server, Calico, pause), k0rs runs only the pause image, the sandbox of
//! every pod (built into k0rs): the others are components k0rs runs in its own process, and a
//! `spec.images` override of them changes nothing (config validate warns). What the cluster runs
//! besides are the pods of the stacks the manifest deployer applies from `<data-dir>/manifests`,
//! so their images are listed too: an air-gapped node needs them as much.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

/// The pause image, then the images of the stacks' pods (sorted, each once), fully qualified.
pub fn cluster_images(data_dir: &Path) -> anyhow::Result<Vec<String>> {
    let manifests = data_dir.join("manifests");
    let objects = match k0rs_controllers::applier::stack_objects(&manifests) {
        Ok(objects) => objects,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => anyhow::bail!("cannot read {}: {e}", manifests.display()),
    };
    let mut images = vec![k0rs_images::PAUSE_IMAGE.to_owned()];
    let mut named = BTreeSet::new();
    for object in &objects {
        container_images(object, &mut |image| match k0rs_images::normalize(image) {
            Ok(full) => {
                named.insert(full);
            }
            // The pod will fail to start for the same reason; the list goes on without it.
            Err(e) => eprintln!("warning: {}: {e}", describe(object)),
        });
    }
    images.extend(named.into_iter().filter(|i| i != k0rs_images::PAUSE_IMAGE));
    Ok(images)
}

/// Fully qualified names for `names`, each once in the order given; an error names every name
/// that is not an image reference.
pub fn normalize_all(names: &[String]) -> anyhow::Result<Vec<String>> {
    let mut full = Vec::new();
    let mut bad = Vec::new();
    for name in names {
        match k0rs_images::normalize(name) {
            Ok(name) if !full.contains(&name) => full.push(name),
            Ok(_) => {}
            Err(e) => bad.push(e.to_string()),
        }
    }
    anyhow::ensure!(bad.is_empty(), "{}", bad.join("; "));
    Ok(full)
}

/// Calls `found` with the image of every container, init container and ephemeral container of
/// `object`, wherever its pod spec is (a Pod, a workload's template, a CronJob's job template,
/// or a custom resource that embeds one).
fn container_images(value: &Value, found: &mut impl FnMut(&str)) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if matches!(
                    key.as_str(),
                    "containers" | "initContainers" | "ephemeralContainers"
                ) && let Value::Array(containers) = inner
                {
                    for image in containers.iter().filter_map(|c| c["image"].as_str()) {
                        found(image);
                    }
                }
                container_images(inner, found);
            }
        }
        Value::Array(items) => {
            for item in items {
                container_images(item, found);
            }
        }
        _ => {}
    }
}

fn describe(object: &Value) -> String {
    format!(
        "{} {}",
        object["kind"].as_str().unwrap_or("object"),
        object["metadata"]["name"].as_str().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_of_every_kind_of_pod_spec_are_found() {
        let cron = serde_json::json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "initContainers": [{"name": "i", "image": "busybox"}],
            "containers": [{"name": "c", "image": "quay.io/x/y:1"}, {"name": "d"}],
        }}}}}});
        let mut images = Vec::new();
        container_images(&cron, &mut |i| images.push(i.to_owned()));
        images.sort();
        assert_eq!(images, ["busybox", "quay.io/x/y:1"]);
    }

    #[test]
    fn stacks_add_their_images_after_pause() {
        let dir = tempfile::tempdir().unwrap();
        let stack = dir.path().join("manifests").join("apps");
        std::fs::create_dir_all(&stack).unwrap();
        std::fs::write(
            stack.join("web.yaml"),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: a, image: nginx:1.25}\n      - {name: b, image: 'docker.io/library/nginx:1.25'}\n      - {name: p, image: 'registry.k8s.io/pause:3.9'}\n",
        )
        .unwrap();
        assert_eq!(
            cluster_images(dir.path()).unwrap(),
            ["registry.k8s.io/pause:3.9", "docker.io/library/nginx:1.25"]
        );
        assert_eq!(
            cluster_images(&dir.path().join("none")).unwrap(),
            ["registry.k8s.io/pause:3.9"]
        );
    }

    #[test]
    fn names_are_qualified_once_and_bad_ones_all_named() {
        let names: Vec<String> = ["busybox", "docker.io/library/busybox:latest", "app:v1"]
            .map(str::to_owned)
            .into();
        assert_eq!(
            normalize_all(&names).unwrap(),
            [
                "docker.io/library/busybox:latest",
                "docker.io/library/app:v1"
            ]
        );
        let bad: Vec<String> = ["ok", "Bad", "a b"].map(str::to_owned).into();
        let err = normalize_all(&bad).unwrap_err().to_string();
        assert!(err.contains("\"Bad\"") && err.contains("\"a b\""), "{err}");
    }
}
