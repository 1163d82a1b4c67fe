//! The API server of `k0rs controller`, judged by the real kubectl and curl: TLS with the PKI,
//! client-certificate authentication, `system:masters` authorization, Status errors.

mod harness;

use std::process::Stdio;
use std::time::Duration;

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
fn health_and_version_are_open_to_everyone() {
    let controller = Controller::start();
    for path in ["/healthz", "/livez", "/readyz"] {
        let out = controller.curl(&[path]);
        assert!(out.status.success(), "{path}: {}", stderr(&out));
        assert_eq!(stdout(&out), "ok");
    }
    let verbose = stdout(&controller.curl(&["/readyz?verbose"]));
    assert!(
        verbose.contains("[+]ping ok") && verbose.ends_with("readyz check passed\n"),
        "{verbose}"
    );
    assert!(controller.curl(&["/version"]).status.success());
}

#[test]
fn no_credentials_is_401_with_a_status() {
    let controller = Controller::start();
    let out = controller.curl(&["/api"]);
    assert!(!out.status.success());
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["code"], 401);
    assert_eq!(status["reason"], "Unauthorized");
    // kubectl with a token the server does not accept sees the same.
    let out = std::process::Command::new("kubectl")
        .args(["--server", &controller.url(""), "--certificate-authority"])
        .arg(controller.node.pki("ca.crt"))
        .args(["--token", "not-a-token", "get", "--raw", "/api"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("Unauthorized"), "{}", stderr(&out));
}

#[test]
fn users_outside_system_masters_are_forbidden_with_a_status() {
    let controller = Controller::start();
    let kubeconfig = controller.kubeconfig_for("alice", &["dev"]);
    let out = kubectl(&kubeconfig, &["get", "--raw", "/metrics"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(r#"forbidden: User "alice" cannot get path "/metrics""#),
        "{}",
        stderr(&out)
    );
    // What Kubernetes' bootstrap policy gives every authenticated user: discovery, and asking
    // who one is and what one may do.
    let out = kubectl(&kubeconfig, &["get", "--raw", "/api"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = kubectl(&kubeconfig, &["auth", "whoami", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let review: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(review["status"]["userInfo"]["username"], "alice");
    assert_eq!(
        review["status"]["userInfo"]["groups"],
        serde_json::json!(["dev", "system:authenticated"])
    );
    let out = kubectl(&kubeconfig, &["auth", "can-i", "list", "pods"]);
    assert_eq!(stdout(&out).trim(), "no");
    let out = kubectl(
        &controller.node.pki("admin.conf"),
        &["auth", "can-i", "list", "pods", "--as", "alice"],
    );
    assert_eq!(stdout(&out).trim(), "no", "{}", stderr(&out));
    let out = kubectl(
        &controller.node.pki("admin.conf"),
        &["auth", "can-i", "list", "pods"],
    );
    assert_eq!(stdout(&out).trim(), "yes");
    // The admin is authenticated and authorized: what is not served yet is a 404 Status.
    let out = kubectl(
        &controller.node.pki("admin.conf"),
        &["get", "--raw", "/apis/nothing"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("NotFound") || stderr(&out).contains("could not find"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn client_certificate_from_another_ca_is_not_accepted() {
    let controller = Controller::start();
    let other = controller.foreign_pki();
    let out = controller.curl(&[
        "/api",
        "--cert",
        path_str(&other.pki("admin.crt")),
        "--key",
        path_str(&other.pki("admin.key")),
    ]);
    assert!(
        !out.status.success(),
        "a foreign client certificate was accepted: {}",
        stdout(&out)
    );
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
    let out = kubectl(&admin, &["get", "--raw", "/apis/apps/v9"]);
    assert!(
        !out.status.success(),
        "a group version that does not exist was served"
    );
}

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
fn users_outside_system_masters_cannot_touch_resources() {
    let controller = Controller::start();
    let kubeconfig = controller.kubeconfig_for("bob", &[]);
    let out = kubectl(
        &kubeconfig,
        &["get", "--raw", "/api/v1/namespaces/default/configmaps"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(r#"User "bob" cannot list resource "configmaps" in API group "" in the namespace "default""#),
        "{}",
        stderr(&out)
    );
}

#[test]
fn watch_streams_added_modified_deleted() {
    let controller = Controller::start();
    let admin = controller.node.pki("admin.conf");
    let out = kubectl(&admin, &["create", "configmap", "before"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let watcher = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&admin)
        .args([
            "get",
            "--raw",
            "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=3",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        kubectl(
            &admin,
            &["create", "configmap", "during", "--from-literal=a=1"]
        )
        .status
        .success()
    );
    assert!(
        kubectl(&admin, &["delete", "configmap", "during"])
            .status
            .success()
    );
    let output = watcher.wait_with_output().unwrap();
    let events: Vec<(String, String)> = stdout(&output)
        .lines()
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                event["type"].as_str().unwrap().to_owned(),
                event["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        events.first(),
        Some(&("ADDED".to_owned(), "before".to_owned())),
        "{events:?}"
    );
    assert!(
        events.contains(&("ADDED".to_owned(), "during".to_owned())),
        "{events:?}"
    );
    assert_eq!(
        events.last(),
        Some(&("DELETED".to_owned(), "during".to_owned())),
        "{events:?}"
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
fn lists_come_in_consistent_pages() {
    let controller = Controller::start();
    let admin = controller.node.pki("admin.conf");
    for i in 0..5 {
        assert!(
            kubectl(&admin, &["create", "configmap", &format!("page-{i}")])
                .status
                .success()
        );
    }
    let page = |query: &str| -> serde_json::Value {
        let out = kubectl(
            &admin,
            &[
                "get",
                "--raw",
                &format!("/api/v1/namespaces/default/configmaps?{query}"),
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let first = page("limit=2");
    let revision = first["metadata"]["resourceVersion"].clone();
    let mut names: Vec<String> = Vec::new();
    let mut current = first;
    // A write between pages is not part of the snapshot the pages show.
    assert!(
        kubectl(&admin, &["create", "configmap", "page-9"])
            .status
            .success()
    );
    loop {
        assert_eq!(
            current["metadata"]["resourceVersion"], revision,
            "pages of one list at different revisions"
        );
        names.extend(
            current["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned()),
        );
        let Some(token) = current["metadata"]["continue"].as_str().map(str::to_owned) else {
            break;
        };
        assert!(current["items"].as_array().unwrap().len() == 2);
        current = page(&format!("limit=2&continue={token}"));
    }
    assert_eq!(names, ["page-0", "page-1", "page-2", "page-3", "page-4"]);
    // kubectl's own chunking sees everything, the new object included.
    let out = kubectl(
        &admin,
        &["get", "configmaps", "--chunk-size=2", "-o", "name"],
    );
    assert_eq!(stdout(&out).lines().count(), 6, "{}", stdout(&out));
    let bad = kubectl(
        &admin,
        &[
            "get",
            "--raw",
            "/api/v1/namespaces/default/configmaps?limit=2&continue=bm9wZQ==",
        ],
    );
    assert!(stderr(&bad).contains("continue"), "{}", stderr(&bad));
}

#[test]
fn kubectl_get_prints_the_server_side_columns() {
    let controller = Controller::start();
    let admin = controller.node.pki("admin.conf");
    assert!(
        kubectl(
            &admin,
            &[
                "create",
                "configmap",
                "cols",
                "--from-literal=a=1",
                "--from-literal=b=2"
            ]
        )
        .status
        .success()
    );
    let table = |args: &[&str]| -> Vec<Vec<String>> {
        let out = kubectl(&admin, args);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
            .lines()
            .map(|l| l.split_whitespace().map(str::to_owned).collect())
            .collect()
    };
    let cms = table(&["get", "configmaps"]);
    assert_eq!(cms[0], ["NAME", "DATA", "AGE"]);
    assert_eq!(cms[1][..2], ["cols".to_owned(), "2".to_owned()]);
    let namespaces = table(&["get", "namespaces"]);
    assert_eq!(namespaces[0], ["NAME", "STATUS", "AGE"]);
    assert!(
        namespaces[1..].iter().all(|row| row[1] == "Active"),
        "{namespaces:?}"
    );
    let services = table(&["get", "services", "-o", "wide"]);
    assert_eq!(
        services[0],
        [
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE",
            "SELECTOR"
        ]
    );
    assert_eq!(
        services[1][..5],
        ["kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP"].map(str::to_owned)
    );
    let endpoints = table(&["get", "endpoints", "kubernetes"]);
    assert_eq!(endpoints[1][1], format!("127.0.0.1:{}", controller.port));
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
fn responses_come_as_yaml_metadata_only_or_gzip_when_asked_and_406_otherwise() {
    let controller = Controller::start();
    let admin = controller.admin();
    // 40 ConfigMaps of 4 KiB: a list of them is over the 128 KiB where compression starts.
    let items: Vec<serde_json::Value> = (0..40)
        .map(|i| {
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("big-{i}"), "labels": {"size": "big"}},
                "data": {"blob": "x".repeat(4096)}})
        })
        .collect();
    let file = controller.node.root.path().join("big.json");
    std::fs::write(
        &file,
        serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string(),
    )
    .unwrap();
    let out = kubectl(&admin, &["create", "-f", path_str(&file)]);
    assert!(out.status.success(), "{}", stderr(&out));

    let cert = controller.node.pki("admin.crt");
    let key = controller.node.pki("admin.key");
    let get = |path: &str, headers: &[&str]| {
        let mut args = vec![path, "--cert", path_str(&cert), "--key", path_str(&key)];
        for h in headers {
            args.extend(["-H", h]);
        }
        args.extend(["-D", "-"]);
        controller.curl(&args)
    };
    let out = get(
        "/api/v1/namespaces/default/configmaps/big-0",
        &["Accept: application/yaml"],
    );
    let text = stdout(&out);
    assert!(text.contains("content-type: application/yaml"), "{text}");
    assert!(text.contains("\nkind: ConfigMap\n"), "{text}");

    let metadata = "Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
    let out = get(
        "/api/v1/namespaces/default/configmaps?labelSelector=size%3Dbig",
        &[metadata],
    );
    let text = stdout(&out);
    let body: serde_json::Value =
        serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["kind"], "PartialObjectMetadataList");
    assert_eq!(body["items"].as_array().unwrap().len(), 40);
    assert_eq!(body["items"][0]["kind"], "PartialObjectMetadata");
    assert!(body["items"][0].get("data").is_none());

    let out = get(
        "/api/v1/namespaces/default/configmaps",
        &["Accept: application/vnd.kubernetes.protobuf"],
    );
    assert!(stdout(&out).starts_with("HTTP/2 406"), "{}", stdout(&out));

    // curl --compressed asks for gzip and unpacks it: the list arrives whole.
    let out = controller.curl(&[
        "/api/v1/namespaces/default/configmaps",
        "--cert",
        path_str(&cert),
        "--key",
        path_str(&key),
        "--compressed",
        "-D",
        "-",
    ]);
    let text = stdout(&out);
    assert!(text.contains("content-encoding: gzip"), "{}", &text[..300]);
    let body: serde_json::Value =
        serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["items"].as_array().unwrap().len(), 40);
}

#[test]
fn lists_read_the_state_asked_for_and_watches_send_bookmarks() {
    let controller = Controller::start();
    let admin = controller.admin();
    let run = |args: &[&str]| {
        let out = kubectl(&admin, args);
        assert!(out.status.success(), "kubectl {args:?}: {}", stderr(&out));
        stdout(&out)
    };
    let raw = |path: &str| -> serde_json::Value {
        serde_json::from_str(&run(&["get", "--raw", path])).unwrap()
    };
    run(&["create", "configmap", "first"]);
    let before = raw("/api/v1/namespaces/default/configmaps");
    let rv = before["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    run(&["create", "configmap", "second"]);
    let names = |list: &serde_json::Value| -> Vec<String> {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    // Exact: the list as it was; NotOlderThan: the newest.
    let exact = raw(&format!(
        "/api/v1/namespaces/default/configmaps?resourceVersion={rv}&resourceVersionMatch=Exact"
    ));
    assert_eq!(names(&exact), ["first"]);
    assert_eq!(exact["metadata"]["resourceVersion"], rv.as_str());
    let newer = raw(&format!(
        "/api/v1/namespaces/default/configmaps?resourceVersion={rv}&resourceVersionMatch=NotOlderThan"
    ));
    assert_eq!(names(&newer), ["first", "second"]);
    let paged = raw(&format!(
        "/api/v1/namespaces/default/configmaps?resourceVersion={rv}&resourceVersionMatch=Exact&limit=1"
    ));
    assert_eq!(names(&paged), ["first"]);
    for (query, expected) in [
        (
            "resourceVersionMatch=Exact",
            "resourceVersionMatch is forbidden unless",
        ),
        (
            "resourceVersion=99999999&resourceVersionMatch=NotOlderThan",
            "Too large resource version",
        ),
    ] {
        let out = kubectl(
            &admin,
            &[
                "get",
                "--raw",
                &format!("/api/v1/namespaces/default/configmaps?{query}"),
            ],
        );
        assert!(stderr(&out).contains(expected), "{query}: {}", stderr(&out));
    }

    // A watch that allows bookmarks ends with one, naming where to resume.
    let out = run(&[
        "get",
        "--raw",
        &format!(
            "/api/v1/namespaces/default/configmaps?watch=1&allowWatchBookmarks=true&timeoutSeconds=1&resourceVersion={rv}"
        ),
    ]);
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["metadata"]["name"], "second");
    let last = events.last().unwrap();
    assert_eq!(last["type"], "BOOKMARK");
    assert_eq!(last["object"]["kind"], "ConfigMap");
    assert_eq!(
        last["object"]["metadata"]["resourceVersion"],
        events[0]["object"]["metadata"]["resourceVersion"]
    );
    // sendInitialEvents: the current objects, then a bookmark marking their end.
    let out = run(&[
        "get",
        "--raw",
        "/api/v1/namespaces/default/configmaps?watch=1&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1",
    ]);
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds[..3], ["ADDED", "ADDED", "BOOKMARK"], "{kinds:?}");
    assert_eq!(
        events[2]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
}

#[test]
fn invalid_objects_are_422_with_every_field_path_and_nothing_is_written() {
    let controller = Controller::start();
    let admin = controller.admin();
    let create = |name: &str, object: &serde_json::Value| {
        let file = controller.node.root.path().join(format!("{name}.json"));
        std::fs::write(&file, object.to_string()).unwrap();
        kubectl(
            &admin,
            &["create", "--validate=false", "-f", path_str(&file)],
        )
    };
    let out = create(
        "deploy",
        &serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"bad key!": "x"}},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "other"}},
                                  "spec": {"containers": [{"name": "Web_1"}, {"name": "b", "image": "x",
                                           "ports": [{"containerPort": 70000}]}]}}}}),
    );
    let message = stderr(&out);
    for expected in [
        r#"The Deployment "web" is invalid"#,
        "metadata.labels: Invalid value: \"bad key!\"",
        "spec.template.metadata.labels: Invalid value",
        "`selector` does not match template `labels`",
        "spec.template.spec.containers[0].name: Invalid value: \"Web_1\"",
        "spec.template.spec.containers[0].image: Required value",
        "spec.template.spec.containers[1].ports[0].containerPort: Invalid value: 70000",
    ] {
        assert!(
            message.contains(expected),
            "{expected:?} missing from:\n{message}"
        );
    }
    let out = create(
        "svc",
        &serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a.b"},
                            "spec": {"type": "Magic", "ports": [{"port": 80}, {"port": 81}]}}),
    );
    let message = stderr(&out);
    for expected in [
        "metadata.name: Invalid value: \"a.b\"",
        "spec.type: Unsupported value: \"Magic\"",
        "spec.ports[0].name: Required value",
    ] {
        assert!(
            message.contains(expected),
            "{expected:?} missing from:\n{message}"
        );
    }
    let out = kubectl(&admin, &["get", "deployments,services", "-o", "name"]);
    assert_eq!(stdout(&out).trim(), "service/kubernetes");
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

#[test]
fn unknown_fields_are_refused_warned_about_or_ignored_as_the_client_asks() {
    let controller = Controller::start();
    let admin = controller.admin();
    let file = controller.node.root.path().join("typo.yaml");
    std::fs::write(
        &file,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replica: 2\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: busybox:1.36\n        imagePullPolicyy: Always\n",
    )
    .unwrap();
    // kubectl's default: strict.
    let out = kubectl(&admin, &["apply", "-f", path_str(&file)]);
    assert!(!out.status.success());
    let message = stderr(&out);
    assert!(
        message.contains(r#"strict decoding error: unknown field "spec.replica", unknown field "spec.template.spec.containers[0].imagePullPolicyy""#),
        "{message}"
    );
    let out = kubectl(&admin, &["apply", "--validate=warn", "-f", path_str(&file)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(r#"Warning: unknown field "spec.replica""#),
        "{}",
        stderr(&out)
    );
    let out = kubectl(&admin, &["delete", "deployment", "web"]);
    assert!(out.status.success());
    let out = kubectl(
        &admin,
        &["apply", "--validate=false", "-f", path_str(&file)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("Warning"), "{}", stderr(&out));
    // A patch that adds an unknown field is judged the same way.
    let out = kubectl(
        &admin,
        &[
            "patch",
            "deployment",
            "web",
            "--type=merge",
            "-p",
            r#"{"spec":{"paused":true,"pausedd":true}}"#,
        ],
    );
    assert!(
        stderr(&out).contains("Warning: unknown field \"spec.pausedd\""),
        "{}",
        stderr(&out)
    );
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
fn dry_runs_check_everything_and_store_nothing_so_kubectl_diff_works() {
    let controller = Controller::start();
    let admin = controller.admin();
    let run = |args: &[&str]| kubectl(&admin, args);
    let out = run(&[
        "create",
        "deployment",
        "web",
        "--image=busybox:1.36",
        "--dry-run=server",
        "-o",
        "name",
    ]);
    assert_eq!(
        stdout(&out).trim(),
        "deployment.apps/web",
        "{}",
        stderr(&out)
    );
    assert!(stderr(&run(&["get", "deployment", "web"])).contains("not found"));
    // A dry run still validates.
    let out = run(&[
        "create",
        "deployment",
        "Bad_Name",
        "--image=x",
        "--dry-run=server",
    ]);
    assert!(!out.status.success());

    assert!(
        run(&["create", "deployment", "web", "--image=busybox:1.36"])
            .status
            .success()
    );
    let out = run(&["delete", "deployment", "web", "--dry-run=server"]);
    assert!(
        stdout(&out).contains("(server dry run)"),
        "{}",
        stdout(&out)
    );
    assert!(run(&["get", "deployment", "web"]).status.success());

    let live = stdout(&run(&["get", "deployment", "web", "-o", "yaml"]));
    let file = controller.node.root.path().join("web.yaml");
    std::fs::write(&file, live.replace("busybox:1.36", "busybox:1.37")).unwrap();
    let out = run(&["diff", "-f", path_str(&file)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let diff = stdout(&out);
    assert!(
        diff.contains("-      - image: busybox:1.36")
            && diff.contains("+      - image: busybox:1.37"),
        "{diff}"
    );
    // The diff wrote nothing.
    let image = stdout(&run(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ]));
    assert_eq!(image, "busybox:1.36");
    let out = run(&[
        "get",
        "--raw",
        "/api/v1/namespaces/default/configmaps?dryRun=Some",
    ]);
    assert!(
        out.status.success(),
        "a list ignores dryRun: {}",
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
