//! Writing through the API server of `k0rs controller`, judged by the real kubectl and curl:
//! create, replace and delete with their conflicts, labels, annotations and the three patch types,
//! delete-collection by selector, a namespace's termination, one stored object seen in both
//! versions of its kind, and the empty status a new Service comes back with.

mod harness;

use harness::controller::{Controller, kubectl};
use harness::{path_str, stderr, stdout};

#[test]
fn kubectl_creates_gets_replaces_and_deletes_configmaps() {
    let controller = Controller::start();
    let admin = controller.node.pki("admin.conf");
    let run = |args: &[&str]| kubectl(&admin, args);

    let namespaces = stdout(&run(&["get", "namespaces", "-o", "name"]));
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(
            namespaces.lines().any(|l| l == format!("namespace/{ns}")),
            "{ns} missing: {namespaces}"
        );
    }
    let out = run(&[
        "create",
        "configmap",
        "demo",
        "--from-literal=greeting=hello",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["get", "configmap", "demo", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let demo: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(demo["data"]["greeting"], "hello");
    assert_eq!(demo["metadata"]["namespace"], "default");

    let out = run(&["create", "configmap", "demo"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(r#"configmaps "demo" already exists"#),
        "{}",
        stderr(&out)
    );
    let out = run(&["create", "configmap", "elsewhere", "-n", "missing"]);
    assert!(
        stderr(&out).contains(r#"namespaces "missing" not found"#),
        "{}",
        stderr(&out)
    );

    // A replace based on the current resourceVersion succeeds; the same one again conflicts.
    let mut changed = demo.clone();
    changed["data"]["greeting"] = serde_json::json!("bonjour");
    let file = controller.node.root.path().join("demo.json");
    std::fs::write(&file, changed.to_string()).unwrap();
    // OpenAPI arrives with API server II: no client-side schema validation yet.
    let out = run(&["replace", "--validate=false", "-f", path_str(&file)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["replace", "--validate=false", "-f", path_str(&file)]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the object has been modified"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        stdout(&run(&[
            "get",
            "cm",
            "demo",
            "-o",
            "jsonpath={.data.greeting}"
        ])),
        "bonjour"
    );

    let out = run(&["delete", "configmap", "demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["get", "configmap", "demo"]);
    assert!(
        stderr(&out).contains(r#"configmaps "demo" not found"#),
        "{}",
        stderr(&out)
    );
}

#[test]
fn label_annotate_and_the_three_patch_types() {
    let controller = Controller::start();
    let admin = controller.node.pki("admin.conf");
    let run = |args: &[&str]| {
        let out = kubectl(&admin, args);
        assert!(out.status.success(), "kubectl {args:?}: {}", stderr(&out));
        stdout(&out)
    };
    run(&["create", "configmap", "p", "--from-literal=a=1"]);
    run(&["label", "configmap", "p", "team=web"]);
    run(&["annotate", "configmap", "p", "note=hi"]);
    run(&[
        "patch",
        "configmap",
        "p",
        "--type=merge",
        "-p",
        r#"{"data":{"b":"2"}}"#,
    ]);
    run(&[
        "patch",
        "configmap",
        "p",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/data/a"}]"#,
    ]);
    run(&["patch", "configmap", "p", "-p", r#"{"data":{"c":"3"}}"#]);
    let object: serde_json::Value =
        serde_json::from_str(&run(&["get", "configmap", "p", "-o", "json"])).unwrap();
    assert_eq!(
        object["metadata"]["labels"],
        serde_json::json!({"team": "web"})
    );
    assert_eq!(
        object["metadata"]["annotations"],
        serde_json::json!({"note": "hi"})
    );
    assert_eq!(object["data"], serde_json::json!({"b": "2", "c": "3"}));
    // Selectors: labels and the fields Kubernetes supports; other fields are a 400.
    run(&["create", "configmap", "other"]);
    assert_eq!(
        run(&["get", "configmaps", "-l", "team=web", "-o", "name"]).trim(),
        "configmap/p"
    );
    assert_eq!(
        run(&["get", "configmaps", "-l", "team notin (web)", "-o", "name"]).trim(),
        "configmap/other"
    );
    assert_eq!(
        run(&[
            "get",
            "configmaps",
            "--field-selector",
            "metadata.name=other",
            "-o",
            "name"
        ])
        .trim(),
        "configmap/other"
    );
    let out = kubectl(
        &admin,
        &["get", "configmaps", "--field-selector", "data.b=2"],
    );
    assert!(
        stderr(&out).contains("field label not supported: data.b"),
        "{}",
        stderr(&out)
    );
    // A patch that does not apply is an error and changes nothing.
    let out = kubectl(
        &admin,
        &[
            "patch",
            "configmap",
            "p",
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/nope"}]"#,
        ],
    );
    assert!(!out.status.success());
    let after: serde_json::Value =
        serde_json::from_str(&run(&["get", "configmap", "p", "-o", "json"])).unwrap();
    assert_eq!(
        after["metadata"]["resourceVersion"],
        object["metadata"]["resourceVersion"]
    );
}

#[test]
fn delete_collection_removes_what_the_selector_selects() {
    let controller = Controller::start();
    let admin = controller.node.pki("admin.conf");
    for (name, team) in [("a", "web"), ("b", "web"), ("c", "db")] {
        assert!(
            kubectl(&admin, &["create", "configmap", name])
                .status
                .success()
        );
        assert!(
            kubectl(
                &admin,
                &["label", "configmap", name, &format!("team={team}")]
            )
            .status
            .success()
        );
    }
    let out = controller.curl(&[
        "/api/v1/namespaces/default/configmaps?labelSelector=team%3Dweb",
        "-X",
        "DELETE",
        "--cert",
        path_str(&controller.node.pki("admin.crt")),
        "--key",
        path_str(&controller.node.pki("admin.key")),
    ]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let deleted: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(deleted["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        stdout(&kubectl(&admin, &["get", "configmaps", "-o", "name"])).trim(),
        "configmap/c"
    );
}

#[test]
fn deleting_a_namespace_leaves_it_terminating() {
    let controller = Controller::start();
    let admin = controller.node.pki("admin.conf");
    assert!(
        kubectl(&admin, &["create", "namespace", "team-a"])
            .status
            .success()
    );
    let out = kubectl(&admin, &["delete", "namespace", "team-a", "--wait=false"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let phase = stdout(&kubectl(
        &admin,
        &[
            "get",
            "namespace",
            "team-a",
            "-o",
            "jsonpath={.status.phase}",
        ],
    ));
    assert_eq!(phase, "Terminating");
    let out = kubectl(&admin, &["create", "configmap", "late", "-n", "team-a"]);
    assert!(
        stderr(&out).contains("because it is being terminated"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn one_stored_object_is_seen_in_both_versions_of_its_kind() {
    let controller = Controller::start();
    let admin = controller.admin();
    let create = |name: &str, object: &serde_json::Value| {
        let file = controller.node.root.path().join(format!("{name}.json"));
        std::fs::write(&file, object.to_string()).unwrap();
        let out = kubectl(&admin, &["create", "-f", path_str(&file)]);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    let raw = |path: &str| -> serde_json::Value {
        let out = kubectl(&admin, &["get", "--raw", path]);
        assert!(out.status.success(), "{path}: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    create(
        "hpa",
        &serde_json::json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "minReplicas": 1, "maxReplicas": 4, "targetCPUUtilizationPercentage": 70}}),
    );
    let v2 = raw("/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/web");
    assert_eq!(v2["apiVersion"], "autoscaling/v2");
    assert_eq!(
        v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        70
    );
    let v1 = raw("/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers");
    assert_eq!(v1["kind"], "HorizontalPodAutoscalerList");
    assert_eq!(v1["items"][0]["spec"]["targetCPUUtilizationPercentage"], 70);

    create(
        "event",
        &serde_json::json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "web.1"}, "eventTime": "2026-11-25T10:00:00.000000Z",
            "reportingController": "k0rs.io/test", "reportingInstance": "test-1",
            "action": "Scale", "reason": "Scaled", "type": "Normal", "note": "scaled to 3",
            "regarding": {"kind": "Deployment", "name": "web", "namespace": "default"}}),
    );
    let core = raw("/api/v1/namespaces/default/events/web.1");
    assert_eq!(core["message"], "scaled to 3");
    assert_eq!(core["involvedObject"]["name"], "web");
    let out = kubectl(&admin, &["get", "events"]);
    assert!(stdout(&out).contains("scaled to 3"), "{}", stdout(&out));
}

/// A Service created without a status (kubectl's POST) comes back, from the create and from every
/// read, with the empty `status.loadBalancer` kube-apiserver always writes; a replace keeps it.
#[test]
fn a_service_created_without_status_has_an_empty_load_balancer_status() {
    let controller = Controller::start();
    let admin = controller.admin();
    let run = |args: &[&str]| {
        let out = kubectl(&admin, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).unwrap()
    };
    let created = run(&[
        "create",
        "service",
        "clusterip",
        "web",
        "--tcp=80:8080",
        "-o",
        "json",
    ]);
    let empty = serde_json::json!({"loadBalancer": {}});
    assert_eq!(created["status"], empty, "{created}");
    let read = run(&["get", "service", "web", "-o", "json"]);
    assert_eq!(read["status"], empty);
    let listed = run(&["get", "services", "-o", "json"]);
    let web = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["metadata"]["name"] == "web")
        .unwrap();
    assert_eq!(web["status"], empty);
    let mut replaced = read.clone();
    replaced.as_object_mut().unwrap().remove("status");
    replaced["metadata"]["labels"] = serde_json::json!({"tier": "front"});
    let file = controller.node.root.path().join("web.json");
    std::fs::write(&file, replaced.to_string()).unwrap();
    run(&["replace", "-f", path_str(&file), "-o", "json"]);
    assert_eq!(
        run(&["get", "service", "web", "-o", "json"])["status"],
        empty
    );
}
