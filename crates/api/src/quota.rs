//! What a ResourceQuota entry (`spec.hard` key) counts of one object: one per object of the kind
//! it names (`pods`, `services`, `count/deployments.apps`…), or the pod's summed container
//! requests or limits (`requests.cpu`, `limits.memory`…). Both the quota admission and the
//! quota status controller count with it.

use serde_json::Value;

use crate::quantity;

/// The kind an object is: its API group, kind and plural.
#[derive(Debug, Clone, Copy)]
pub struct Kind<'a> {
    pub group: &'a str,
    pub kind: &'a str,
    pub plural: &'a str,
}

/// How much of `key` the object uses.
pub fn usage(key: &str, of: Kind<'_>, object: &Value) -> f64 {
    let sum = |section: &str, name: &str| -> f64 {
        object["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| quantity::of(&c["resources"][section][name]))
            .sum()
    };
    let core = of.group.is_empty();
    let is = |kind: &str| core && of.kind == kind;
    match key {
        "pods" if is("Pod") => 1.0,
        "services" if is("Service") => 1.0,
        "configmaps" if is("ConfigMap") => 1.0,
        "secrets" if is("Secret") => 1.0,
        "persistentvolumeclaims" if is("PersistentVolumeClaim") => 1.0,
        "replicationcontrollers" if is("ReplicationController") => 1.0,
        "resourcequotas" if is("ResourceQuota") => 1.0,
        "services.nodeports" if is("Service") && object["spec"]["type"] == "NodePort" => 1.0,
        "services.loadbalancers" if is("Service") && object["spec"]["type"] == "LoadBalancer" => {
            1.0
        }
        "requests.cpu" | "cpu" if is("Pod") => sum("requests", "cpu"),
        "requests.memory" | "memory" if is("Pod") => sum("requests", "memory"),
        "limits.cpu" if is("Pod") => sum("limits", "cpu"),
        "limits.memory" if is("Pod") => sum("limits", "memory"),
        other => match other.strip_prefix("count/") {
            Some(counted) => {
                let (plural, group) = counted.split_once('.').unwrap_or((counted, ""));
                f64::from(u8::from(of.plural == plural && of.group == group))
            }
            None => 0.0,
        },
    }
}

/// The (group, plural) of the objects a quota key counts.
pub fn counted_resource(key: &str) -> Option<(&str, &str)> {
    match key {
        "pods" | "cpu" | "memory" | "requests.cpu" | "requests.memory" | "limits.cpu"
        | "limits.memory" => Some(("", "pods")),
        "services" | "services.nodeports" | "services.loadbalancers" => Some(("", "services")),
        "configmaps"
        | "secrets"
        | "persistentvolumeclaims"
        | "replicationcontrollers"
        | "resourcequotas" => Some(("", key)),
        other => {
            let counted = other.strip_prefix("count/")?;
            let (plural, group) = counted.split_once('.').unwrap_or((counted, ""));
            Some((group, plural))
        }
    }
}
