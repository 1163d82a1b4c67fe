//! Admission against `k0rs controller`, judged by kubectl: RBAC escalation prevention, the pod
//! mutations (Priority, DefaultTolerationSeconds, ServiceAccount) and PodSecurity levels.

mod harness;

use harness::controller::{Controller, kubectl};
use harness::{path_str, stderr, stdout};

fn apply_json(
    controller: &Controller,
    kubeconfig: &std::path::Path,
    name: &str,
    object: &serde_json::Value,
) -> std::process::Output {
    let file = controller.node.root.path().join(format!("{name}.json"));
    std::fs::write(&file, object.to_string()).unwrap();
    kubectl(kubeconfig, &["create", "-f", path_str(&file)])
}

fn pod(name: &str, extra: &serde_json::Value) -> serde_json::Value {
    let mut pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}});
    if let Some(map) = extra.as_object() {
        for (k, v) in map {
            pod["spec"][k] = v.clone();
        }
    }
    pod
}

#[test]
fn new_pods_get_priority_tolerations_and_their_service_account_token() {
    let controller = Controller::start();
    let admin = controller.admin();
    let out = apply_json(
        &controller,
        &admin,
        "plain",
        &pod("plain", &serde_json::json!({})),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let created: serde_json::Value =
        serde_json::from_slice(&kubectl(&admin, &["get", "pod", "plain", "-o", "json"]).stdout)
            .unwrap();
    let spec = &created["spec"];
    assert_eq!(spec["priority"], 0);
    assert_eq!(spec["serviceAccountName"], "default");
    let tolerations: Vec<&str> = spec["tolerations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        tolerations,
        [
            "node.kubernetes.io/not-ready",
            "node.kubernetes.io/unreachable"
        ]
    );
    let volume = &spec["volumes"][0];
    assert!(
        volume["name"]
            .as_str()
            .unwrap()
            .starts_with("kube-api-access-")
    );
    assert_eq!(
        volume["projected"]["sources"][0]["serviceAccountToken"]["path"],
        "token"
    );
    assert_eq!(
        spec["containers"][0]["volumeMounts"][0]["mountPath"],
        "/var/run/secrets/kubernetes.io/serviceaccount"
    );

    let critical = pod(
        "critical",
        &serde_json::json!({"priorityClassName": "system-node-critical", "automountServiceAccountToken": false}),
    );
    let out = apply_json(&controller, &admin, "critical", &critical);
    assert!(out.status.success(), "{}", stderr(&out));
    let created: serde_json::Value =
        serde_json::from_slice(&kubectl(&admin, &["get", "pod", "critical", "-o", "json"]).stdout)
            .unwrap();
    assert_eq!(created["spec"]["priority"], 2_000_001_000);
    assert!(created["spec"].get("volumes").is_none());
    let out = apply_json(
        &controller,
        &admin,
        "nope",
        &pod("nope", &serde_json::json!({"priorityClassName": "nope"})),
    );
    assert!(
        stderr(&out).contains("no PriorityClass with name nope was found"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_restricted_namespace_rejects_a_privileged_pod() {
    let controller = Controller::start();
    let admin = controller.admin();
    for (ns, level) in [("locked", "restricted"), ("base", "baseline")] {
        assert!(
            kubectl(&admin, &["create", "namespace", ns])
                .status
                .success()
        );
        let label = format!("pod-security.kubernetes.io/enforce={level}");
        assert!(
            kubectl(&admin, &["label", "namespace", ns, &label])
                .status
                .success()
        );
    }
    let privileged = pod("root", &serde_json::json!({}));
    let mut privileged = privileged;
    privileged["spec"]["containers"][0]["securityContext"] =
        serde_json::json!({"privileged": true});
    for ns in ["locked", "base"] {
        let mut object = privileged.clone();
        object["metadata"]["namespace"] = serde_json::json!(ns);
        let out = apply_json(&controller, &admin, &format!("root-{ns}"), &object);
        let message = stderr(&out);
        assert!(!out.status.success(), "{ns}: a privileged pod was admitted");
        assert!(message.contains("violates PodSecurity"), "{message}");
        assert!(
            message.contains(
                "privileged (container \"c\" must not set securityContext.privileged=true)"
            ),
            "{message}"
        );
    }
    // A plain pod passes baseline but not restricted; a hardened one passes restricted.
    let mut plain = pod("plain", &serde_json::json!({}));
    plain["metadata"]["namespace"] = serde_json::json!("base");
    assert!(
        apply_json(&controller, &admin, "plain-base", &plain)
            .status
            .success()
    );
    plain["metadata"]["namespace"] = serde_json::json!("locked");
    let out = apply_json(&controller, &admin, "plain-locked", &plain);
    assert!(
        stderr(&out).contains("runAsNonRoot != true"),
        "{}",
        stderr(&out)
    );
    let mut hardened = plain.clone();
    hardened["metadata"]["name"] = serde_json::json!("hardened");
    hardened["spec"]["securityContext"] =
        serde_json::json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}});
    hardened["spec"]["containers"][0]["securityContext"] =
        serde_json::json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}});
    let out = apply_json(&controller, &admin, "hardened", &hardened);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&kubectl(
            &admin,
            &["get", "pods", "-n", "locked", "-o", "name"]
        ))
        .trim(),
        "pod/hardened"
    );
}
