//! What the API server of `k0rs controller` says it serves, judged by the real kubectl and curl:
//! its version, discovery (per group and aggregated), the OpenAPI schemas `kubectl explain`
//! reads, the local APIServices, and the objects a fresh cluster starts with.

mod harness;

use harness::controller::{Controller, kubectl};
use harness::{k0rs, path_str, stderr, stdout};

#[test]
fn kubectl_version_reports_the_served_kubernetes_version() {
    let controller = Controller::start();
    let out = kubectl(
        &controller.node.pki("admin.conf"),
        &["version", "-o", "json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let version: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected = stdout(&k0rs(&["version"]).output().unwrap())
        .trim()
        .to_owned();
    assert_eq!(version["serverVersion"]["gitVersion"], expected.as_str());
    assert_eq!(version["serverVersion"]["major"], "1");
    assert_eq!(version["serverVersion"]["minor"], "28");
}

#[test]
fn discovery_serves_the_resource_table_to_kubectl() {
    let controller = Controller::start();
    let admin = controller.node.pki("admin.conf");
    let out = kubectl(&admin, &["api-versions"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let versions = stdout(&out);
    for gv in [
        "v1",
        "apps/v1",
        "batch/v1",
        "autoscaling/v2",
        "rbac.authorization.k8s.io/v1",
        "discovery.k8s.io/v1",
    ] {
        assert!(
            versions.lines().any(|l| l == gv),
            "{gv} missing from api-versions:\n{versions}"
        );
    }
    let out = kubectl(&admin, &["api-resources", "-o", "wide"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let resources = stdout(&out);
    for (name, short, group_version) in [
        ("pods", "po", "v1"),
        ("deployments", "deploy", "apps/v1"),
        ("cronjobs", "cj", "batch/v1"),
    ] {
        assert!(
            resources.lines().any(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                cols.first() == Some(&name)
                    && cols.contains(&short)
                    && cols.contains(&group_version)
            }),
            "{name} ({short}, {group_version}) missing:\n{resources}"
        );
    }
    // The raw documents are Kubernetes' discovery types.
    let out = kubectl(&admin, &["get", "--raw", "/apis/apps"]);
    let group: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            group["kind"].as_str(),
            group["preferredVersion"]["groupVersion"].as_str()
        ),
        (Some("APIGroup"), Some("apps/v1"))
    );
    // Byte for byte as kube-apiserver 1.28 writes them: field order, resources by name,
    // singularName, storageVersionHash on stored resources; no apiVersion in the core list.
    let core = stdout(&kubectl(&admin, &["get", "--raw", "/api/v1"]));
    assert!(
        core.starts_with(r#"{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"bindings","singularName":"binding","namespaced":true,"kind":"Binding","verbs":["create"]},"#),
        "{core}"
    );
    for entry in [
        r#"{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["po"],"categories":["all"],"storageVersionHash":"xPOwRZ+Yhw8="}"#,
        r#"{"name":"pods/ephemeralcontainers","singularName":"","namespaced":true,"kind":"Pod","verbs":["get","patch","update"]}"#,
        r#"{"name":"services/proxy","singularName":"","namespaced":true,"kind":"ServiceProxyOptions","verbs":["create","delete","get","patch","update"]}"#,
        r#"{"name":"configmaps","singularName":"configmap","namespaced":true,"kind":"ConfigMap","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["cm"],"storageVersionHash":"qFsyl6wFWjQ="}"#,
    ] {
        assert!(core.contains(entry), "{entry} missing from {core}");
    }
    let apps = stdout(&kubectl(&admin, &["get", "--raw", "/apis/apps/v1"]));
    assert!(
        apps.starts_with(r#"{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"apps/v1","resources":[{"name":"controllerrevisions","singularName":"controllerrevision","namespaced":true,"kind":"ControllerRevision","#),
        "{apps}"
    );
    assert_eq!(
        stdout(&kubectl(&admin, &["get", "--raw", "/apis/apps"])),
        r#"{"kind":"APIGroup","apiVersion":"v1","name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}}"#.to_owned() + "\n"
    );
    let out = kubectl(&admin, &["get", "--raw", "/apis/apps/v9"]);
    assert!(
        !out.status.success(),
        "a group version that does not exist was served"
    );
}

#[test]
fn kubectl_discovers_everything_in_two_aggregated_requests() {
    let controller = Controller::start();
    let admin = controller.admin();
    let cache = controller.node.root.path().join("kube-cache");
    let out = kubectl(
        &admin,
        &["api-resources", "-v=6", "--cache-dir", path_str(&cache)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("deployments"), "{}", stdout(&out));
    let requests: Vec<String> = stderr(&out)
        .lines()
        .filter(|l| l.contains("GET https://"))
        .map(|l| l.split_whitespace().nth(5).unwrap_or_default().to_owned())
        .collect();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|r| r.contains("/api?") || r.contains("/apis?")),
        "{requests:?}"
    );

    let out = controller.curl(&[
        "/apis",
        "--cert",
        path_str(&controller.node.pki("admin.crt")),
        "--key",
        path_str(&controller.node.pki("admin.key")),
        "-H",
        "Accept: application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
        "-D",
        "-",
    ]);
    let text = stdout(&out);
    assert!(
        text.to_lowercase().contains(
            "content-type: application/json;g=apidiscovery.k8s.io;v=v2beta1;as=apigroupdiscoverylist"
        ),
        "{text}"
    );
    assert!(text.contains(r#""kind":"APIGroupDiscoveryList""#));
}

#[test]
fn kubectl_explain_reads_the_generated_openapi_schemas() {
    let controller = Controller::start();
    let admin = controller.admin();
    for kubectl_binary in ["kubectl", "/usr/lib/google-cloud-sdk/bin/kubectl.1.33"] {
        let cache = controller
            .node
            .root
            .path()
            .join(format!("cache-{}", kubectl_binary.len()));
        let out = harness::controller::kubectl_bin(
            kubectl_binary,
            &admin,
            &[
                "explain",
                "pod.spec.containers.livenessProbe",
                "--cache-dir",
                path_str(&cache),
            ],
        );
        assert!(out.status.success(), "{kubectl_binary}: {}", stderr(&out));
        let text = stdout(&out);
        for expected in [
            "KIND:       Pod",
            "FIELD: livenessProbe <Probe>",
            "Periodic probe of container liveness.",
            "httpGet\t<HTTPGetAction>",
            "timeoutSeconds\t<integer>",
        ] {
            assert!(
                text.contains(expected),
                "{kubectl_binary}: {expected:?} missing from\n{text}"
            );
        }
    }
    let out = kubectl(&admin, &["explain", "deployment.spec.nosuchfield"]);
    assert!(
        stderr(&out).contains(r#"field "nosuchfield" does not exist"#),
        "{}",
        stderr(&out)
    );
}

#[test]
fn every_served_group_version_has_a_local_available_apiservice() {
    let controller = Controller::start();
    let out = kubectl(&controller.admin(), &["get", "apiservices"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<Vec<String>> = stdout(&out)
        .lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect();
    assert_eq!(rows[0][..3], ["NAME", "SERVICE", "AVAILABLE"]);
    for name in [
        "v1.",
        "v1.apps",
        "v2.autoscaling",
        "v1.rbac.authorization.k8s.io",
    ] {
        let row = rows
            .iter()
            .find(|r| r[0] == name)
            .unwrap_or_else(|| panic!("{name} missing: {rows:?}"));
        assert_eq!(row[1..3], ["Local", "True"], "{row:?}");
    }
}

#[test]
fn a_fresh_cluster_has_the_kubernetes_service_and_priority_classes() {
    let controller = Controller::start();
    let admin = controller.node.pki("admin.conf");
    let get = |args: &[&str]| -> serde_json::Value {
        let out = kubectl(&admin, args);
        assert!(out.status.success(), "kubectl {args:?}: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let service = get(&["get", "service", "kubernetes", "-o", "json"]);
    assert_eq!(service["spec"]["clusterIP"], "10.96.0.1");
    assert_eq!(service["spec"]["ports"][0]["port"], 443);
    assert_eq!(service["spec"]["ports"][0]["targetPort"], controller.port);
    let endpoints = get(&["get", "endpoints", "kubernetes", "-o", "json"]);
    assert_eq!(endpoints["subsets"][0]["addresses"][0]["ip"], "127.0.0.1");
    assert_eq!(endpoints["subsets"][0]["ports"][0]["port"], controller.port);
    let slice = get(&[
        "get",
        "endpointslices.discovery.k8s.io",
        "kubernetes",
        "-o",
        "json",
    ]);
    assert_eq!(slice["endpoints"][0]["addresses"][0], "127.0.0.1");
    assert_eq!(
        slice["metadata"]["labels"]["kubernetes.io/service-name"],
        "kubernetes"
    );
    let classes = get(&["get", "priorityclasses", "-o", "json"]);
    let names: Vec<&str> = classes["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["metadata"]["name"].as_str())
        .collect();
    assert_eq!(names, ["system-cluster-critical", "system-node-critical"]);
}
