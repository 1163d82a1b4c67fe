//! Discovery documents (`/api`, `/api/v1`, `/apis`, `/apis/<group>`, `/apis/<group>/<version>`),
//! generated from the resource table. They are typed, not built as JSON maps, so that they keep
//! the field order of kube-apiserver's (the order of Kubernetes' Go structs): tooling compares
//! discovery documents byte for byte.

use base64::Engine as _;
use k0rs_registry::resources::COMPONENT_STATUSES;
use k0rs_registry::{Resource, group_version, group_versions, resources_of};
use serde::{Deserialize, Serialize};

/// `/api`: APIVersions.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiVersions {
    kind: &'static str,
    versions: Vec<&'static str>,
    #[serde(rename = "serverAddressByClientCIDRs")]
    server_address_by_client_cidrs: Vec<ServerAddress>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ServerAddress {
    #[serde(rename = "clientCIDR")]
    client_cidr: &'static str,
    server_address: String,
}

/// One version of a group (GroupVersionForDiscovery).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupVersion {
    pub group_version: String,
    pub version: String,
}

/// APIGroup: on its own (`/apis/<group>`, with kind and apiVersion) or in a list.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiGroup {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub api_version: Option<String>,
    pub name: String,
    pub versions: Vec<GroupVersion>,
    pub preferred_version: GroupVersion,
}

/// `/apis`: APIGroupList.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiGroupList {
    kind: &'static str,
    api_version: &'static str,
    pub groups: Vec<ApiGroup>,
}

/// One resource or subresource of a group version (APIResource).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiResource {
    pub name: String,
    /// Empty for subresources, as kube-apiserver 1.28 leaves it.
    pub singular_name: &'static str,
    pub namespaced: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<&'static str>,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub short_names: &'static [&'static str],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub categories: &'static [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_version_hash: Option<String>,
}

/// `/api/v1` or `/apis/<group>/<version>`: APIResourceList. kube-apiserver leaves `apiVersion`
/// out of the core group's list (and only there).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiResourceList {
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_version: Option<&'static str>,
    group_version: String,
    pub resources: Vec<ApiResource>,
}

/// `/api`: the core group's versions and where clients reach the server.
pub fn core_versions(server_address: &str) -> ApiVersions {
    ApiVersions {
        kind: "APIVersions",
        versions: vec!["v1"],
        server_address_by_client_cidrs: vec![ServerAddress {
            client_cidr: "0.0.0.0/0",
            server_address: server_address.to_owned(),
        }],
    }
}

/// One named group with its versions, the first being the preferred one.
fn group(name: &str) -> Option<ApiGroup> {
    let versions: Vec<GroupVersion> = group_versions()
        .into_iter()
        .filter(|(g, _)| *g == name)
        .map(|(g, v)| GroupVersion {
            group_version: group_version(g, v),
            version: v.to_owned(),
        })
        .collect();
    let preferred_version = versions.first()?.clone();
    Some(ApiGroup {
        kind: None,
        api_version: None,
        name: name.to_owned(),
        versions,
        preferred_version,
    })
}

/// `/apis`: every named group.
pub fn groups() -> ApiGroupList {
    let mut names: Vec<&str> = Vec::new();
    for (g, _) in group_versions() {
        if !g.is_empty() && !names.contains(&g) {
            names.push(g);
        }
    }
    ApiGroupList {
        kind: "APIGroupList",
        api_version: "v1",
        groups: names.into_iter().filter_map(group).collect(),
    }
}

/// `/apis/<group>`, or `None` if the group does not exist.
pub fn named_group(name: &str) -> Option<ApiGroup> {
    group(name).map(ApiGroup::document)
}

impl ApiGroup {
    /// The group as a document of its own (`/apis/<group>`).
    pub fn document(self) -> Self {
        Self {
            kind: Some("APIGroup".to_owned()),
            api_version: Some("v1".to_owned()),
            ..self
        }
    }
}

/// `/api/v1` or `/apis/<group>/<version>`: the resources and subresources, or `None` if the group
/// version does not exist.
pub fn resource_list(group: &str, version: &str) -> Option<ApiResourceList> {
    let mut entries = Vec::new();
    for r in resources_of(group, version) {
        entries.push(resource(r));
        for sub in r.subresources {
            let (group, version) = sub.group_version.and_then(|gv| gv.split_once('/')).unzip();
            entries.push(ApiResource {
                name: format!("{}/{}", r.plural, sub.name),
                singular_name: "",
                namespaced: r.namespaced,
                group,
                version,
                kind: sub.kind,
                verbs: sub.verbs,
                short_names: &[],
                categories: &[],
                storage_version_hash: None,
            });
        }
    }
    if entries.is_empty() {
        return None;
    }
    // kube-apiserver lists them by name.
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Some(ApiResourceList {
        kind: "APIResourceList",
        api_version: (!group.is_empty()).then_some("v1"),
        group_version: group_version(group, version),
        resources: entries,
    })
}

fn resource(r: &Resource) -> ApiResource {
    ApiResource {
        name: r.plural.to_owned(),
        singular_name: r.singular,
        namespaced: r.namespaced,
        group: None,
        version: None,
        kind: r.kind,
        verbs: r.verbs,
        short_names: r.short_names,
        categories: r.categories,
        storage_version_hash: storage_version_hash(r),
    }
}

/// What kube-apiserver writes as `storageVersionHash` for a resource it stores: the first 8 bytes
/// of the SHA-256 of `<group>/<version>/<kind>` of the version it is stored as, in base64.
/// Resources that are never stored (reviews, bindings, componentstatuses) have none.
fn storage_version_hash(r: &Resource) -> Option<String> {
    if r.verbs == ["create"] || r.is(COMPONENT_STATUSES) {
        return None;
    }
    let stored = k0rs_registry::storage_of(r).unwrap_or(r);
    let gvk = format!("{}/{}/{}", stored.group, stored.version, stored.kind);
    let digest = ring::digest::digest(&ring::digest::SHA256, gvk.as_bytes());
    Some(base64::engine::general_purpose::STANDARD.encode(&digest.as_ref()[..8]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(list: &'a ApiResourceList, name: &str) -> &'a ApiResource {
        list.resources.iter().find(|r| r.name == name).unwrap()
    }

    #[test]
    fn documents_follow_the_table() {
        let core = resource_list("", "v1").unwrap();
        let pods = entry(&core, "pods");
        assert_eq!(pods.short_names, ["po"]);
        assert!(pods.namespaced);
        let eviction = entry(&core, "pods/eviction");
        assert_eq!(
            (eviction.group, eviction.version),
            (Some("policy"), Some("v1"))
        );
        let autoscaling = named_group("autoscaling").unwrap();
        assert_eq!(autoscaling.preferred_version.version, "v2");
        assert!(resource_list("apps", "v2").is_none());
        assert!(named_group("nope.example.com").is_none());
        assert!(groups().groups.iter().all(|g| !g.name.is_empty()));
        // kube-apiserver 1.28 names every resource's singular (subresources have none).
        for (group, version) in group_versions() {
            for r in resource_list(group, version).unwrap().resources {
                assert_eq!(
                    r.singular_name.is_empty(),
                    r.name.contains('/'),
                    "{}",
                    r.name
                );
            }
        }
    }

    #[test]
    fn documents_are_written_as_kube_apiserver_writes_them() {
        // kube-apiserver 1.28's bytes for these entries.
        let core = resource_list("", "v1").unwrap();
        assert_eq!(
            serde_json::to_string(entry(&core, "pods")).unwrap(),
            r#"{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["po"],"categories":["all"],"storageVersionHash":"xPOwRZ+Yhw8="}"#
        );
        assert_eq!(
            serde_json::to_string(entry(&core, "pods/eviction")).unwrap(),
            r#"{"name":"pods/eviction","singularName":"","namespaced":true,"group":"policy","version":"v1","kind":"Eviction","verbs":["create"]}"#
        );
        assert_eq!(
            serde_json::to_string(entry(&core, "bindings")).unwrap(),
            r#"{"name":"bindings","singularName":"binding","namespaced":true,"kind":"Binding","verbs":["create"]}"#
        );
        assert_eq!(
            entry(&core, "persistentvolumes")
                .storage_version_hash
                .as_deref(),
            Some("HN/zwEC+JgM=")
        );
        assert!(serde_json::to_string(&core).unwrap().starts_with(
            r#"{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"bindings","#
        ));
        let apps = serde_json::to_string(&resource_list("apps", "v1").unwrap()).unwrap();
        assert!(
            apps.starts_with(r#"{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"apps/v1","resources":[{"name":"controllerrevisions","#),
            "{apps}"
        );
        assert_eq!(
            serde_json::to_string(&named_group("apps").unwrap()).unwrap(),
            r#"{"kind":"APIGroup","apiVersion":"v1","name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}}"#
        );
    }
}
