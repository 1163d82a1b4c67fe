//! PodSecurity admission: a namespace labelled `pod-security.kubernetes.io/enforce=baseline` or
//! `=restricted` refuses pods that break that level of the Pod Security Standards, with
//! Kubernetes' message listing every check that failed.

use k0rs_api::{Status, StatusReason};
use k0rs_registry::{Registry, resources};
use serde_json::Value;

use super::{Admitted, Plugin, Request};

const ENFORCE: &str = "pod-security.kubernetes.io/enforce";

/// Capabilities baseline allows a container to add.
const BASELINE_CAPABILITIES: [&str; 14] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
    "NET_RAW",
];

/// Volume types restricted allows.
const RESTRICTED_VOLUMES: [&str; 8] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Privileged,
    Baseline,
    Restricted,
}

/// Checks new and changed pods against their namespace's level.
pub struct PodSecurity {
    registry: Registry,
}

impl PodSecurity {
    pub fn new(registry: Registry) -> Self {
        Self { registry }
    }
}

impl Plugin for PodSecurity {
    fn name(&self) -> &'static str {
        "PodSecurity"
    }

    fn handles(&self, request: &Request<'_>) -> bool {
        request.is(resources::PODS)
    }

    fn admit<'a>(&'a self, request: &'a Request<'a>, pod: &'a mut Value) -> Admitted<'a> {
        Box::pin(enforce(&self.registry, request.namespace, pod))
    }
}

async fn enforce(registry: &Registry, namespace: Option<&str>, pod: &Value) -> Result<(), Status> {
    let Some(namespace) = namespace else {
        return Ok(());
    };
    let namespaces = resources::NAMESPACES;
    let Ok(ns) = registry.get(namespaces, None, namespace).await else {
        return Ok(());
    };
    let level = match ns["metadata"]["labels"][ENFORCE].as_str() {
        Some("restricted") => Level::Restricted,
        Some("baseline") => Level::Baseline,
        _ => Level::Privileged,
    };
    let violations = violations(pod, level);
    if violations.is_empty() {
        return Ok(());
    }
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let level_name = if level == Level::Restricted {
        "restricted"
    } else {
        "baseline"
    };
    Err(Status::failure(
        StatusReason::Forbidden,
        format!(
            "pods \"{name}\" is forbidden: violates PodSecurity \"{level_name}:latest\": {}",
            violations.join(", ")
        ),
    ))
}

fn containers(spec: &Value) -> impl Iterator<Item = &Value> {
    ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .flat_map(move |list| spec[list].as_array().into_iter().flatten())
}

fn names_where(spec: &Value, broken: impl Fn(&Value) -> bool) -> Vec<String> {
    containers(spec)
        .filter(|c| broken(c))
        .map(|c| format!("{:?}", c["name"].as_str().unwrap_or_default()))
        .collect()
}

fn container_list(names: &[String]) -> String {
    let noun = if names.len() == 1 {
        "container"
    } else {
        "containers"
    };
    format!("{noun} {}", names.join(", "))
}

/// The failed checks of `level`, in Kubernetes' wording.
fn violations(pod: &Value, level: Level) -> Vec<String> {
    let mut out = Vec::new();
    if level == Level::Privileged {
        return out;
    }
    let spec = &pod["spec"];
    let pod_context = &spec["securityContext"];
    for field in ["hostNetwork", "hostPID", "hostIPC"] {
        if spec[field] == true {
            out.push(format!("host namespaces ({field}=true)"));
        }
    }
    let privileged = names_where(spec, |c| c["securityContext"]["privileged"] == true);
    if !privileged.is_empty() {
        out.push(format!(
            "privileged ({} must not set securityContext.privileged=true)",
            container_list(&privileged)
        ));
    }
    let added = names_where(spec, |c| {
        c["securityContext"]["capabilities"]["add"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|cap| !BASELINE_CAPABILITIES.contains(&cap))
    });
    if !added.is_empty() {
        out.push(format!(
            "capabilities ({} must not include capabilities beyond the baseline set in securityContext.capabilities.add)",
            container_list(&added)
        ));
    }
    let host_paths: Vec<String> = spec["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v.get("hostPath").is_some())
        .map(|v| format!("{:?}", v["name"].as_str().unwrap_or_default()))
        .collect();
    if !host_paths.is_empty() {
        out.push(format!(
            "hostPath volumes (volumes {})",
            host_paths.join(", ")
        ));
    }
    let host_ports = names_where(spec, |c| {
        c["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["hostPort"].as_i64().is_some_and(|h| h != 0))
    });
    if !host_ports.is_empty() {
        out.push(format!(
            "hostPort ({} uses hostPort)",
            container_list(&host_ports)
        ));
    }
    let unconfined = |context: &Value| context["seccompProfile"]["type"] == "Unconfined";
    if unconfined(pod_context) || containers(spec).any(|c| unconfined(&c["securityContext"])) {
        out.push("seccompProfile (pod or containers must not set securityContext.seccompProfile.type to \"Unconfined\")".into());
    }
    if level == Level::Restricted {
        restricted(spec, pod_context, &mut out);
    }
    out
}

fn restricted(spec: &Value, pod_context: &Value, out: &mut Vec<String>) {
    let escalation = names_where(spec, |c| {
        c["securityContext"]["allowPrivilegeEscalation"] != false
    });
    if !escalation.is_empty() {
        out.push(format!(
            "allowPrivilegeEscalation != false ({} must set securityContext.allowPrivilegeEscalation=false)",
            container_list(&escalation)
        ));
    }
    let not_dropped = names_where(spec, |c| {
        !c["securityContext"]["capabilities"]["drop"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|cap| cap == "ALL")
    });
    if !not_dropped.is_empty() {
        out.push(format!(
            "unrestricted capabilities ({} must set securityContext.capabilities.drop=[\"ALL\"])",
            container_list(&not_dropped)
        ));
    }
    let pod_non_root = pod_context["runAsNonRoot"] == true;
    let root = names_where(spec, |c| {
        let own = &c["securityContext"]["runAsNonRoot"];
        !(own == true || (own.is_null() && pod_non_root))
    });
    if !root.is_empty() {
        out.push(format!(
            "runAsNonRoot != true (pod or {} must set securityContext.runAsNonRoot=true)",
            container_list(&root)
        ));
    }
    let profile_ok = |context: &Value| {
        matches!(
            context["seccompProfile"]["type"].as_str(),
            Some("RuntimeDefault" | "Localhost")
        )
    };
    let no_profile = names_where(spec, |c| {
        !profile_ok(&c["securityContext"]) && !profile_ok(pod_context)
    });
    if !no_profile.is_empty() {
        out.push(format!(
            "seccompProfile (pod or {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")",
            container_list(&no_profile)
        ));
    }
    let bad_volumes: Vec<String> = spec["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| {
            v.as_object().is_some_and(|m| {
                m.keys()
                    .filter(|k| *k != "name")
                    .any(|k| !RESTRICTED_VOLUMES.contains(&k.as_str()))
            })
        })
        .map(|v| format!("{:?}", v["name"].as_str().unwrap_or_default()))
        .collect();
    if !bad_volumes.is_empty() {
        out.push(format!(
            "restricted volume types (volumes {} use restricted volume types)",
            bad_volumes.join(", ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn levels_check_what_the_standards_say() {
        let privileged = json!({"spec": {"containers": [{"name": "c", "securityContext": {"privileged": true}}]}});
        assert!(violations(&privileged, Level::Privileged).is_empty());
        let baseline = violations(&privileged, Level::Baseline);
        assert_eq!(baseline.len(), 1);
        assert!(baseline[0].starts_with("privileged (container \"c\""));

        let plain = json!({"spec": {"containers": [{"name": "c"}]}});
        assert!(violations(&plain, Level::Baseline).is_empty());
        assert_eq!(violations(&plain, Level::Restricted).len(), 4);

        let hardened = json!({"spec": {
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "c", "securityContext": {
                "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}],
            "volumes": [{"name": "t", "projected": {}}]}});
        assert!(violations(&hardened, Level::Restricted).is_empty());
    }
}
