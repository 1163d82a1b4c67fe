//! What the API server serves, as the applier needs it: for a manifest's group, version and
//! kind, the resource (its plural) and whether it is namespaced; and the kinds to look through
//! for objects to prune. Asked anew for every pass, and again after CRDs were applied, so that
//! kinds a stack defines are known to the rest of it.
//!
//! A group version that fails to answer (an aggregated API whose server is down) is left out
//! rather than failing the whole discovery, as client-go's discovery does: the applier can
//! still apply and prune every other kind.

use std::collections::HashMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use kube::Client;
use kube::core::{ApiResource, GroupVersionKind};

/// One served resource.
#[derive(Debug, Clone)]
pub struct Resource {
    pub api: ApiResource,
    pub namespaced: bool,
    pub verbs: Vec<String>,
}

impl Resource {
    fn can(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }
}

/// The resources the API server serves.
#[derive(Debug, Default)]
pub struct Resources {
    by_kind: HashMap<(String, String, String), Resource>,
    /// One resource per group and kind, in the group's preferred version, that can be listed
    /// and deleted: where objects to prune may be.
    prunable: Vec<Resource>,
    /// Group versions that did not answer, for the log.
    pub unavailable: Vec<String>,
}

impl Resources {
    /// The resource of `kind` in `group`/`version`.
    pub fn resolve(&self, group: &str, version: &str, kind: &str) -> Option<&Resource> {
        self.by_kind
            .get(&(group.to_owned(), version.to_owned(), kind.to_owned()))
    }

    pub fn prunable(&self) -> &[Resource] {
        &self.prunable
    }

    /// Adds what one group version serves; `preferred` when it is its group's preferred one.
    fn add(&mut self, group: &str, version: &str, list: &APIResourceList, preferred: bool) {
        for entry in &list.resources {
            // Subresources (`deployments/scale`) are not kinds of their own.
            if entry.name.contains('/') {
                continue;
            }
            let gvk = GroupVersionKind::gvk(group, version, &entry.kind);
            let resource = Resource {
                api: ApiResource::from_gvk_with_plural(&gvk, &entry.name),
                namespaced: entry.namespaced,
                verbs: entry.verbs.clone(),
            };
            if preferred && resource.can("list") && resource.can("delete") {
                self.prunable.push(resource.clone());
            }
            self.by_kind.insert(
                (group.to_owned(), version.to_owned(), entry.kind.clone()),
                resource,
            );
        }
    }
}

/// Asks the API server what it serves. Fails only when it cannot list the groups themselves.
pub async fn discover(client: &Client) -> Result<Resources, kube::Error> {
    let mut resources = Resources::default();
    let core = client.list_core_api_versions().await?;
    for (n, version) in core.versions.iter().enumerate() {
        match client.list_core_api_resources(version).await {
            Ok(list) => resources.add("", version, &list, n == 0),
            Err(_) => resources.unavailable.push(version.clone()),
        }
    }
    for group in client.list_api_groups().await?.groups {
        let preferred = group
            .preferred_version
            .as_ref()
            .map(|v| v.group_version.clone())
            .or_else(|| group.versions.first().map(|v| v.group_version.clone()));
        for version in &group.versions {
            match client
                .list_api_group_resources(&version.group_version)
                .await
            {
                Ok(list) => resources.add(
                    &group.name,
                    &version.version,
                    &list,
                    preferred.as_deref() == Some(version.group_version.as_str()),
                ),
                Err(_) => resources.unavailable.push(version.group_version.clone()),
            }
        }
    }
    Ok(resources)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResource;

    fn entry(name: &str, kind: &str, namespaced: bool, verbs: &[&str]) -> APIResource {
        APIResource {
            name: name.to_owned(),
            kind: kind.to_owned(),
            namespaced,
            verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
            ..APIResource::default()
        }
    }

    #[test]
    fn kinds_resolve_to_resources_and_only_preferred_deletable_ones_are_pruned() {
        let list = APIResourceList {
            group_version: "apps/v1".into(),
            resources: vec![
                entry(
                    "deployments",
                    "Deployment",
                    true,
                    &["get", "list", "delete", "patch"],
                ),
                entry("deployments/scale", "Scale", true, &["get", "patch"]),
            ],
        };
        let mut resources = Resources::default();
        resources.add("apps", "v1", &list, true);
        let old = APIResourceList {
            group_version: "apps/v1beta1".into(),
            resources: vec![entry(
                "deployments",
                "Deployment",
                true,
                &["list", "delete"],
            )],
        };
        resources.add("apps", "v1beta1", &old, false);
        let deployment = resources.resolve("apps", "v1", "Deployment").unwrap();
        assert_eq!(deployment.api.plural, "deployments");
        assert!(deployment.namespaced);
        assert!(resources.resolve("apps", "v1beta1", "Deployment").is_some());
        assert!(resources.resolve("apps", "v1", "Scale").is_none());
        let prunable: Vec<&str> = resources
            .prunable()
            .iter()
            .map(|r| r.api.api_version.as_str())
            .collect();
        assert_eq!(prunable, ["apps/v1"]);
    }
}
