//! Aggregated discovery (`apidiscovery.k8s.io` v2beta1 in 1.28, v2 from 1.30): every group,
//! version and resource in one answer to `/api` or `/apis`, for clients that ask for it in their
//! Accept header (kubectl does, falling back to the per-group documents otherwise).

use axum::http::{HeaderMap, header};
use k0rs_registry::{group_versions, resources_of};
use serde_json::{Value, json};

/// The discovery version a client asks for, if it asks for aggregated discovery at all.
pub fn wanted(headers: &HeaderMap) -> Option<&'static str> {
    let accept = headers.get(header::ACCEPT)?.to_str().ok()?;
    // Clients list their preferences in order; the first aggregated one we serve wins.
    accept.split(',').find_map(|media| {
        let media = media.replace(' ', "");
        if !media.contains("g=apidiscovery.k8s.io") || !media.contains("as=APIGroupDiscoveryList") {
            return None;
        }
        if media.contains(";v=v2;") || media.ends_with(";v=v2") {
            Some("v2")
        } else if media.contains("v=v2beta1") {
            Some("v2beta1")
        } else {
            None
        }
    })
}

/// The Content-Type of the answer, which tells the client it got the aggregated form.
pub fn content_type(version: &str) -> String {
    format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList")
}

/// `/api` (`core`: the core group only) or `/apis` (every named group).
pub fn document(version: &str, core: bool) -> Value {
    let mut groups: Vec<&str> = Vec::new();
    for (g, _) in group_versions() {
        if g.is_empty() == core && !groups.contains(&g) {
            groups.push(g);
        }
    }
    let items: Vec<Value> = groups
        .into_iter()
        .map(|group| {
            let versions: Vec<Value> = group_versions()
                .into_iter()
                .filter(|(g, _)| *g == group)
                .map(|(g, v)| {
                    json!({
                        "version": v,
                        "resources": resources_of(g, v).map(resource).collect::<Vec<_>>(),
                        "freshness": "Current",
                    })
                })
                .collect();
            json!({ "metadata": { "name": group, "creationTimestamp": null }, "versions": versions })
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    })
}

fn resource(r: &k0rs_registry::Resource) -> Value {
    let mut entry = json!({
        "resource": r.plural,
        "responseKind": { "group": r.group, "version": r.version, "kind": r.kind },
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        entry["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        entry["categories"] = json!(r.categories);
    }
    let subresources: Vec<Value> = r
        .subresources
        .iter()
        .map(|sub| {
            let (group, version) = sub
                .group_version
                .and_then(|gv| gv.split_once('/'))
                .unwrap_or((r.group, r.version));
            json!({
                "subresource": sub.name,
                "responseKind": { "group": group, "version": version, "kind": sub.kind },
                "verbs": sub.verbs,
            })
        })
        .collect();
    if !subresources.is_empty() {
        entry["subresources"] = json!(subresources);
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_pick_the_version() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
                .parse()
                .unwrap(),
        );
        assert_eq!(wanted(&headers), Some("v2"));
        headers.insert(
            header::ACCEPT,
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
                .parse()
                .unwrap(),
        );
        assert_eq!(wanted(&headers), Some("v2beta1"));
        headers.insert(header::ACCEPT, "application/json".parse().unwrap());
        assert_eq!(wanted(&headers), None);
    }

    #[test]
    fn core_and_named_groups_are_separate() {
        let core = document("v2", true);
        assert_eq!(core["items"].as_array().unwrap().len(), 1);
        assert_eq!(core["items"][0]["metadata"]["name"], "");
        let named = document("v2", false);
        let apps = named["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["metadata"]["name"] == "apps")
            .unwrap();
        let deployments = apps["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "deployments")
            .unwrap();
        assert_eq!(deployments["scope"], "Namespaced");
        assert_eq!(
            deployments["subresources"][0]["responseKind"]["group"],
            "autoscaling"
        );
    }
}
