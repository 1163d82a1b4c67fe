//! Admission against `k0rs controller`, judged by kubectl: RBAC escalation prevention, the pod
//! mutations (Priority, DefaultTolerationSeconds, ServiceAccount) and PodSecurity levels.

mod harness;

use harness::controller::{Controller, kubectl};
use harness::{stderr, stdout};

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
    let out = controller.create_json(&admin, "plain", &pod("plain", &serde_json::json!({})));
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
    let out = controller.create_json(&admin, "critical", &critical);
    assert!(out.status.success(), "{}", stderr(&out));
    let created: serde_json::Value =
        serde_json::from_slice(&kubectl(&admin, &["get", "pod", "critical", "-o", "json"]).stdout)
            .unwrap();
    assert_eq!(created["spec"]["priority"], 2_000_001_000);
    assert!(created["spec"].get("volumes").is_none());
    let out = controller.create_json(
        &admin,
        "nope",
        &pod("nope", &serde_json::json!({"priorityClassName": "nope"})),
    );
    assert!(
        stderr(&out).contains("no PriorityClass with name nope was found"),
        "{}",
        stderr(&out)
    );
    applied_pods_are_admitted_too(&controller, &admin);
}

/// A pod created by server-side apply goes through the same mutations.
fn applied_pods_are_admitted_too(controller: &Controller, admin: &std::path::Path) {
    let file = controller.node.root.path().join("applied.json");
    std::fs::write(
        &file,
        pod(
            "applied",
            &serde_json::json!({"priorityClassName": "system-cluster-critical"}),
        )
        .to_string(),
    )
    .unwrap();
    let out = kubectl(
        admin,
        &["apply", "--server-side", "-f", harness::path_str(&file)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let created: serde_json::Value =
        serde_json::from_slice(&kubectl(admin, &["get", "pod", "applied", "-o", "json"]).stdout)
            .unwrap();
    let spec = &created["spec"];
    assert_eq!(spec["priority"], 2_000_000_000);
    assert_eq!(spec["serviceAccountName"], "default");
    assert_eq!(spec["tolerations"].as_array().map(Vec::len), Some(2));
    assert!(spec["volumes"][0]["projected"].is_object(), "{spec}");
    // Applying it again changes nothing the admission added.
    let out = kubectl(
        admin,
        &["apply", "--server-side", "-f", harness::path_str(&file)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
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
        let out = controller.create_json(&admin, &format!("root-{ns}"), &object);
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
        controller
            .create_json(&admin, "plain-base", &plain)
            .status
            .success()
    );
    plain["metadata"]["namespace"] = serde_json::json!("locked");
    let out = controller.create_json(&admin, "plain-locked", &plain);
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
    let out = controller.create_json(&admin, "hardened", &hardened);
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

#[test]
fn limit_ranges_default_and_bound_containers_and_quotas_cap_the_namespace() {
    let controller = Controller::start();
    let admin = controller.admin();
    let ok = |out: std::process::Output| assert!(out.status.success(), "{}", stderr(&out));
    ok(kubectl(&admin, &["create", "namespace", "team"]));
    let in_team = |mut object: serde_json::Value| {
        object["metadata"]["namespace"] = serde_json::json!("team");
        object
    };
    ok(controller.create_json(
        &admin,
        "limits",
        &in_team(serde_json::json!({
        "apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits"},
        "spec": {"limits": [{"type": "Container",
            "default": {"cpu": "500m", "memory": "128Mi"},
            "defaultRequest": {"cpu": "100m"},
            "max": {"cpu": "1"}}]}})),
    ));
    ok(controller.create_json(
        &admin,
        "plain",
        &in_team(pod("plain", &serde_json::json!({}))),
    ));
    let created: serde_json::Value = serde_json::from_slice(
        &kubectl(&admin, &["get", "pod", "plain", "-n", "team", "-o", "json"]).stdout,
    )
    .unwrap();
    let resources = &created["spec"]["containers"][0]["resources"];
    assert_eq!(
        resources["limits"],
        serde_json::json!({"cpu": "500m", "memory": "128Mi"})
    );
    assert_eq!(
        resources["requests"],
        serde_json::json!({"cpu": "100m", "memory": "128Mi"})
    );
    let mut greedy = in_team(pod("greedy", &serde_json::json!({})));
    greedy["spec"]["containers"][0]["resources"] = serde_json::json!({"limits": {"cpu": "2"}});
    let out = controller.create_json(&admin, "greedy", &greedy);
    assert!(
        stderr(&out).contains("maximum cpu usage per Container is 1, but limit is 2"),
        "{}",
        stderr(&out)
    );

    // A quota of two pods and 250m of requested cpu: the plain pod uses 100m.
    ok(controller.create_json(
        &admin,
        "quota",
        &in_team(serde_json::json!({
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "small"},
        "spec": {"hard": {"pods": "2", "requests.cpu": "250m", "configmaps": "1",
                          "count/deployments.apps": "1"}}})),
    ));
    ok(controller.create_json(
        &admin,
        "second",
        &in_team(pod("second", &serde_json::json!({}))),
    ));
    let out = controller.create_json(
        &admin,
        "third",
        &in_team(pod("third", &serde_json::json!({}))),
    );
    let message = stderr(&out);
    assert!(message.contains("exceeded quota: small"), "{message}");
    assert!(
        message.contains("limited: pods=2") || message.contains("limited: requests.cpu=250m"),
        "{message}"
    );
    ok(kubectl(
        &admin,
        &["create", "configmap", "one", "-n", "team"],
    ));
    let out = kubectl(&admin, &["create", "configmap", "two", "-n", "team"]);
    assert!(stderr(&out).contains("exceeded quota: small, requested: configmaps=1, used: configmaps=1, limited: configmaps=1"), "{}", stderr(&out));
    // Object counts of other groups count what the namespace already holds.
    ok(kubectl(
        &admin,
        &["create", "deployment", "one", "--image=x", "-n", "team"],
    ));
    let out = kubectl(
        &admin,
        &["create", "deployment", "two", "--image=x", "-n", "team"],
    );
    assert!(
        stderr(&out)
            .contains("requested: count/deployments.apps=1, used: count/deployments.apps=1"),
        "{}",
        stderr(&out)
    );
}
