//! Subresources served from the object itself: `status`, `scale`, a namespace's `finalize`, a
//! CSR's `approval`, a pod's `binding` and `eviction`.

use k0rs_api::Status;
use k0rs_api::patch::PatchType;
use serde_json::{Value, json};

use crate::decoding::{self, Gvk};
use crate::deletion::DeleteOptions;
use crate::generic::{Part, Registry, decode, key};
use crate::patching::{PatchRequest, patch_view};
use crate::table::Resource;

const BINDING: Gvk<'static> = Gvk {
    group: "",
    version: "v1",
    kind: "Binding",
};

const EVICTION: Gvk<'static> = Gvk {
    group: "policy",
    version: "v1",
    kind: "Eviction",
};

/// Which subresource a request addresses, when the registry serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subresource {
    Status,
    Scale,
    Finalize,
    Approval,
    Binding,
    Eviction,
    EphemeralContainers,
}

impl Subresource {
    /// The subresource `name` of `resource`, if the table declares it and the registry serves it.
    pub fn of(resource: &Resource, name: &str) -> Option<Self> {
        if !resource.subresources.iter().any(|s| s.name == name) {
            return None;
        }
        Some(match name {
            "status" => Self::Status,
            "scale" => Self::Scale,
            "finalize" => Self::Finalize,
            "approval" => Self::Approval,
            "binding" => Self::Binding,
            "eviction" => Self::Eviction,
            "ephemeralcontainers" => Self::EphemeralContainers,
            _ => return None,
        })
    }

    /// The part of the object an update through this subresource replaces.
    fn part(self) -> Part {
        match self {
            Self::Finalize => Part::Finalizers,
            Self::EphemeralContainers => Part::EphemeralContainers,
            // The approval conditions live in the status.
            Self::Status | Self::Approval => Part::Status,
            Self::Scale | Self::Binding | Self::Eviction => Part::Main,
        }
    }
}

impl Registry {
    pub async fn get_subresource(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        sub: Subresource,
    ) -> Result<Value, Status> {
        let object = self.get(resource, namespace, name).await?;
        match sub {
            Subresource::Scale => Ok(scale_of(resource, &object)),
            _ => Ok(object),
        }
    }

    pub async fn update_subresource(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        sub: Subresource,
        body: Value,
    ) -> Result<Value, Status> {
        if sub == Subresource::Scale {
            return self.update_scale(resource, namespace, name, &body).await;
        }
        self.update_part(resource, namespace, name, body, sub.part())
            .await
    }

    pub async fn patch_subresource(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        sub: Subresource,
        patch: &[u8],
        kind: PatchType,
    ) -> Result<Value, Status> {
        if sub != Subresource::Scale {
            return self
                .patch_part(resource, namespace, name, patch, kind, sub.part())
                .await;
        }
        let request = PatchRequest {
            patch,
            patch_type: kind,
            kind: Gvk::SCALE,
        };
        patch_view(
            &request,
            || Status::conflict(resource.group, resource.plural, name),
            || self.get_subresource(resource, namespace, name, Subresource::Scale),
            |scale| async move { self.update_scale(resource, namespace, name, &scale).await },
        )
        .await
    }

    /// A POST to a pod's `binding` or `eviction`; answers with a success `Status`.
    pub async fn create_subresource(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        sub: Subresource,
        body: &Value,
    ) -> Result<Value, Status> {
        match sub {
            Subresource::Binding => {
                decoding::check_body(BINDING, body)?;
                self.bind(resource, namespace, name, body).await?;
            }
            Subresource::Eviction => {
                check_body_kind(body, "Eviction", name)?;
                decoding::check_body(EVICTION, body)?;
                // The eviction's own DeleteOptions, dryRun included, say how the pod goes.
                let options = DeleteOptions::parse(
                    body["deleteOptions"].to_string().as_bytes(),
                    &std::collections::HashMap::new(),
                )?;
                self.evict(resource, namespace, name, &options).await?;
            }
            _ => return Err(Status::method_not_allowed()),
        }
        Ok(json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "code": 201,
        }))
    }

    /// Sets `spec.replicas` from a `Scale`; returns the new `Scale`.
    async fn update_scale(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        scale: &Value,
    ) -> Result<Value, Status> {
        decoding::check_body(Gvk::SCALE, scale)?;
        let replicas = scale["spec"]["replicas"]
            .as_i64()
            .filter(|r| *r >= 0 && i32::try_from(*r).is_ok())
            .ok_or_else(|| {
                Status::invalid_field(
                    "autoscaling",
                    "Scale",
                    name,
                    "spec.replicas",
                    format!(
                        "Invalid value: {}: must be greater than or equal to 0",
                        scale["spec"]["replicas"]
                    ),
                )
            })?;
        let mut object = self.get(resource, namespace, name).await?;
        object["spec"]["replicas"] = json!(replicas);
        // The Scale's resourceVersion, when it has one, is a precondition on the object.
        match scale["metadata"]["resourceVersion"].as_str() {
            Some(rv) if !rv.is_empty() => object["metadata"]["resourceVersion"] = json!(rv),
            _ => {
                if let Some(meta) = object["metadata"].as_object_mut() {
                    meta.remove("resourceVersion");
                }
            }
        }
        let updated = self.update(resource, namespace, name, object).await?;
        Ok(scale_of(resource, &updated))
    }

    /// Assigns a pending pod to the node a `Binding` names. A concurrent write to the pod (its
    /// status, a label) does not refuse the binding: it is redone on the newest pod.
    async fn bind(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        binding: &Value,
    ) -> Result<(), Status> {
        const ATTEMPTS: usize = 5;
        check_body_kind(binding, "Binding", name)?;
        let node = binding["target"]["name"]
            .as_str()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| Status::bad_request("the Binding has no target.name"))?;
        let namespace = Self::scope(resource, namespace);
        let mut attempt = 1;
        loop {
            match self.bind_once(resource, namespace, name, node).await {
                Err(status) if status.is_stale_write() && attempt < ATTEMPTS => attempt += 1,
                result => return result,
            }
        }
    }

    async fn bind_once(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        name: &str,
        node: &str,
    ) -> Result<(), Status> {
        let key = key(resource, namespace, name);
        let current = self.current(resource, &key, name).await?;
        let mut pod = decode(&current.value, current.mod_revision)?;
        let refuse = |reason: String| {
            Err(Status::conflict_with(
                resource.group,
                resource.plural,
                name,
                reason,
            ))
        };
        if crate::deletion::is_deleting(&pod) {
            return refuse(format!(
                "pod {name} is being deleted, cannot be assigned to a host"
            ));
        }
        if let Some(assigned) = pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
            return refuse(format!(
                "pod {name} is already assigned to node \"{assigned}\""
            ));
        }
        pod["spec"]["nodeName"] = json!(node);
        set_condition(
            &mut pod["status"],
            json!({
                "type": "PodScheduled",
                "status": "True",
                "lastProbeTime": null,
                "lastTransitionTime": k0rs_api::time::now(),
            }),
        );
        self.write(resource, &key, name, pod, current.mod_revision)
            .await?;
        Ok(())
    }
}

/// 400 unless `body` is a `kind` for the object `name` (or leaves kind and name out).
fn check_body_kind(body: &Value, kind: &str, name: &str) -> Result<(), Status> {
    if let Some(other) = body["kind"].as_str().filter(|k| *k != kind) {
        return Err(Status::bad_request(format!(
            "the body must be a {kind}, not {other}"
        )));
    }
    match body["metadata"]["name"].as_str() {
        Some(given) if !given.is_empty() && given != name => Err(Status::bad_request(format!(
            "the name of the {kind} ({given}) does not match the name on the URL ({name})"
        ))),
        _ => Ok(()),
    }
}

/// Replaces the condition of the same type, or appends it.
fn set_condition(status: &mut Value, condition: Value) {
    if !status["conditions"].is_array() {
        status["conditions"] = json!([]);
    }
    let conditions = status["conditions"]
        .as_array_mut()
        .expect("made an array above");
    conditions.retain(|c| c["type"] != condition["type"]);
    conditions.push(condition);
}

/// The `autoscaling/v1` Scale of a Deployment, ReplicaSet, StatefulSet or ReplicationController.
fn scale_of(resource: &Resource, object: &Value) -> Value {
    let meta = &object["metadata"];
    let mut scale_meta = json!({
        "name": meta["name"],
        "uid": meta["uid"],
        "resourceVersion": meta["resourceVersion"],
        "creationTimestamp": meta["creationTimestamp"],
    });
    if resource.namespaced {
        scale_meta["namespace"] = meta["namespace"].clone();
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": scale_meta,
        "spec": { "replicas": object["spec"]["replicas"].as_i64().unwrap_or(1) },
        "status": {
            "replicas": object["status"]["replicas"].as_i64().unwrap_or(0),
            "selector": selector_string(&object["spec"]["selector"]),
        },
    })
}

/// A label selector as a string (`a=b,c in (d,e)`); a ReplicationController's selector is a plain
/// map of labels.
pub(crate) fn selector_string(selector: &Value) -> String {
    let labels = selector
        .get("matchLabels")
        .or(if selector.get("matchExpressions").is_some() {
            None
        } else {
            Some(selector)
        })
        .and_then(Value::as_object);
    let mut parts: Vec<String> = labels
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    for expression in selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key = expression["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = expression["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        parts.push(match expression["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_owned(),
            _ => format!("!{key}"),
        });
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_print_as_kubernetes_parses_them() {
        assert_eq!(
            selector_string(&json!({"matchLabels": {"app": "web"}})),
            "app=web"
        );
        assert_eq!(selector_string(&json!({"app": "web"})), "app=web");
        assert_eq!(
            selector_string(&json!({
                "matchLabels": {"a": "b"},
                "matchExpressions": [
                    {"key": "t", "operator": "In", "values": ["x", "y"]},
                    {"key": "u", "operator": "DoesNotExist"}
                ]
            })),
            "a=b,t in (x,y),!u"
        );
    }
}
