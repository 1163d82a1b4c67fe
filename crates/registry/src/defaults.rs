//! Kubernetes' defaulting of the built-in kinds: the values an object gets for fields its author
//! left out, applied on every create and update as the API server applies them on decoding.

use serde_json::{Value, json};

use crate::table::Resource;

/// Sets `object[field]` to `value` unless it has a value.
fn default(object: &mut Value, field: &str, value: Value) {
    if object.get(field).is_none_or(Value::is_null) {
        object[field] = value;
    }
}

/// Applies the defaults of `resource`'s kind to `object`.
pub fn apply(resource: &Resource, object: &mut Value) {
    match (resource.group, resource.kind) {
        ("", "Secret") => {
            default(object, "type", json!("Opaque"));
            merge_string_data(object);
        }
        ("", "PodTemplate") => pod_spec(&mut object["template"]["spec"]),
        _ => {
            // Only kinds with a spec get one.
            if let Some(spec) = object.get_mut("spec") {
                apply_to_spec(resource, spec);
            }
        }
    }
}

/// A Secret's `stringData` is a write-only convenience: its values join `data`, base64-encoded,
/// overriding what `data` had under the same key.
fn merge_string_data(secret: &mut Value) {
    use base64::Engine as _;
    let Some(Value::Object(string_data)) =
        secret.as_object_mut().and_then(|m| m.remove("stringData"))
    else {
        return;
    };
    if !secret["data"].is_object() {
        secret["data"] = json!({});
    }
    for (key, value) in string_data {
        let text = value.as_str().unwrap_or_default();
        secret["data"][key] = json!(base64::engine::general_purpose::STANDARD.encode(text));
    }
}

fn apply_to_spec(resource: &Resource, spec: &mut Value) {
    match (resource.group, resource.kind) {
        ("", "Pod") => pod_spec(spec),
        ("", "ReplicationController") => {
            pod_spec(&mut spec["template"]["spec"]);
            // An RC without a selector selects its template's labels.
            let labels = spec["template"]["metadata"]["labels"].clone();
            default(spec, "selector", labels);
        }
        ("apps", "ReplicaSet") => pod_spec(&mut spec["template"]["spec"]),
        ("apps", "Deployment") => {
            pod_spec(&mut spec["template"]["spec"]);
            rolling_update(
                spec,
                "strategy",
                &[("maxUnavailable", json!("25%")), ("maxSurge", json!("25%"))],
            );
            default(spec, "revisionHistoryLimit", json!(10));
            default(spec, "progressDeadlineSeconds", json!(600));
        }
        ("apps", "StatefulSet") => {
            pod_spec(&mut spec["template"]["spec"]);
            default(spec, "podManagementPolicy", json!("OrderedReady"));
            rolling_update(spec, "updateStrategy", &[("partition", json!(0))]);
            default(spec, "revisionHistoryLimit", json!(10));
            default(
                spec,
                "persistentVolumeClaimRetentionPolicy",
                json!({ "whenDeleted": "Retain", "whenScaled": "Retain" }),
            );
        }
        ("apps", "DaemonSet") => {
            pod_spec(&mut spec["template"]["spec"]);
            rolling_update(
                spec,
                "updateStrategy",
                &[("maxUnavailable", json!(1)), ("maxSurge", json!(0))],
            );
            default(spec, "revisionHistoryLimit", json!(10));
        }
        ("batch", "Job") => job_spec(spec),
        ("batch", "CronJob") => {
            default(spec, "concurrencyPolicy", json!("Allow"));
            default(spec, "suspend", json!(false));
            default(spec, "successfulJobsHistoryLimit", json!(3));
            default(spec, "failedJobsHistoryLimit", json!(1));
            job_spec(&mut spec["jobTemplate"]["spec"]);
        }
        ("", "Service") => crate::services::defaults(spec),
        ("", "PersistentVolumeClaim") => default(spec, "volumeMode", json!("Filesystem")),
        ("", "PersistentVolume") => {
            default(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
            default(spec, "volumeMode", json!("Filesystem"));
        }
        _ => {}
    }
}

/// An update strategy: `RollingUpdate` unless given, and for a rolling update its parameters.
fn rolling_update(spec: &mut Value, field: &str, parameters: &[(&str, Value)]) {
    if !spec[field].is_object() {
        spec[field] = json!({});
    }
    let strategy = &mut spec[field];
    default(strategy, "type", json!("RollingUpdate"));
    if strategy["type"] == "RollingUpdate" {
        if !strategy["rollingUpdate"].is_object() {
            strategy["rollingUpdate"] = json!({});
        }
        for (name, value) in parameters {
            default(&mut strategy["rollingUpdate"], name, value.clone());
        }
    }
}

fn job_spec(spec: &mut Value) {
    if spec.get("completions").is_none() && spec.get("parallelism").is_none() {
        spec["completions"] = json!(1);
    }
    default(spec, "parallelism", json!(1));
    default(spec, "backoffLimit", json!(6));
    default(spec, "completionMode", json!("NonIndexed"));
    default(spec, "suspend", json!(false));
    pod_spec(&mut spec["template"]["spec"]);
}

/// Defaults of a pod spec, also inside the templates of workloads.
pub fn pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    default(spec, "restartPolicy", json!("Always"));
    default(spec, "dnsPolicy", json!("ClusterFirst"));
    default(spec, "terminationGracePeriodSeconds", json!(30));
    default(spec, "schedulerName", json!("default-scheduler"));
    default(spec, "securityContext", json!({}));
    default(spec, "enableServiceLinks", json!(true));
    for list in ["initContainers", "containers"] {
        for container in spec
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            self::container(container);
        }
    }
}

fn container(container: &mut Value) {
    default(
        container,
        "terminationMessagePath",
        json!("/dev/termination-log"),
    );
    default(container, "terminationMessagePolicy", json!("File"));
    let policy = image_pull_policy(container["image"].as_str().unwrap_or_default());
    default(container, "imagePullPolicy", json!(policy));
    default(container, "resources", json!({}));
    for port in container
        .get_mut("ports")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        default(port, "protocol", json!("TCP"));
    }
}

/// `Always` for an image without a tag or tagged `latest` (and not pinned by digest),
/// `IfNotPresent` otherwise.
fn image_pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    // The tag follows the last `:` after the last `/` (a registry host may carry a port).
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, tag)) if tag != "latest" => "IfNotPresent",
        _ => "Always",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_policy_depends_on_the_tag() {
        assert_eq!(image_pull_policy("busybox"), "Always");
        assert_eq!(image_pull_policy("busybox:latest"), "Always");
        assert_eq!(image_pull_policy("busybox:1.36"), "IfNotPresent");
        assert_eq!(image_pull_policy("localhost:5000/busybox"), "Always");
        assert_eq!(
            image_pull_policy("localhost:5000/busybox:1"),
            "IfNotPresent"
        );
        assert_eq!(image_pull_policy("busybox@sha256:abc"), "IfNotPresent");
    }

    #[test]
    fn deployments_get_kubernetes_defaults_and_keep_given_values() {
        let deployments = crate::find("apps", "v1", "deployments").unwrap();
        let mut d = json!({"spec": {
            "revisionHistoryLimit": 2,
            "strategy": {},
            "template": {"spec": {"containers": [{"name": "a", "image": "x:1", "ports": [{"containerPort": 80}]}]}}
        }});
        apply(deployments, &mut d);
        assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
        assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
        assert_eq!(d["spec"]["revisionHistoryLimit"], 2);
        assert_eq!(d["spec"]["progressDeadlineSeconds"], 600);
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(pod["restartPolicy"], "Always");
        assert_eq!(pod["containers"][0]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(pod["containers"][0]["ports"][0]["protocol"], "TCP");
        // Fields that were absent stay absent (no `null`s).
        assert!(pod.get("initContainers").is_none());
        let mut bare =
            json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}});
        apply(deployments, &mut bare);
        assert!(
            bare["spec"]["template"]["spec"]["containers"][0]
                .get("ports")
                .is_none()
        );
    }
}
