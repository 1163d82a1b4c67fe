//! Reading from the API server of `k0rs controller`, judged by the real kubectl and curl: watches,
//! lists in consistent pages, the resourceVersion a list or watch asks for, bookmarks, the
//! server-side columns of `kubectl get`, and YAML, metadata-only and gzip responses.

mod harness;

use std::process::Stdio;
use std::time::Duration;

use harness::controller::{Controller, kubectl};
use harness::{path_str, stderr, stdout};

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
