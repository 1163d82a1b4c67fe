//! The everyday kubectl workflow against `k0rs controller`, with kubectl 1.28 and 1.33 and on both
//! stores (embedded and a real etcd): apply twice, get in every output format, describe, edit,
//! sort, scale, label, annotate, expose, watch, wait for a delete, delete with cascade, cluster-info,
//! auth whoami. Server-side apply: `kubectl_server_side_apply.rs`.

mod harness;

use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use harness::controller::{Backend, Controller};
use harness::kubectl::{DEPLOYMENT, KUBECTL_1_28, Kubectl};
use harness::{path_str, stderr, stdout};

const KUBECTL_1_33: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";

#[test]
fn kubectl_1_28_on_the_embedded_store() {
    workflow(KUBECTL_1_28, Backend::Embedded);
}

#[test]
fn kubectl_1_33_on_the_embedded_store() {
    workflow(KUBECTL_1_33, Backend::Embedded);
}

#[test]
fn kubectl_1_28_on_etcd() {
    workflow(KUBECTL_1_28, Backend::Etcd);
}

#[test]
fn kubectl_1_33_on_etcd() {
    workflow(KUBECTL_1_33, Backend::Etcd);
}

/// Waits (30 s at most) for a line containing every one of `words`.
fn expect_line(lines: &mpsc::Receiver<String>, words: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if words.iter().all(|w| line.contains(w)) => return line,
            Ok(_) => {}
            Err(e) => panic!("no line with {words:?}: {e}"),
        }
    }
}

fn workflow(binary: &str, backend: Backend) {
    let controller = Controller::start_with(backend, "", &[]);
    let k = Kubectl {
        binary,
        controller: &controller,
    };

    let version = k.json(&["version"]);
    assert_eq!(version["serverVersion"]["minor"], "28");
    assert!(k.ok(&["api-versions"]).lines().any(|l| l == "apps/v1"));
    let resources = k.ok(&["api-resources", "--api-group=apps", "-o", "name"]);
    assert!(
        resources.lines().any(|l| l == "deployments.apps"),
        "{resources}"
    );
    let info = k.ok(&["cluster-info"]);
    assert!(
        info.contains("is running at") && info.contains(&format!(":{}", controller.port)),
        "{info}"
    );
    let whoami = k.json(&["auth", "whoami"]);
    assert_eq!(whoami["status"]["userInfo"]["username"], "kubernetes-admin");

    apply_twice_then_change(&k, &controller);
    get_in_every_format(&k);
    sort_by(&k);
    scale_describe_edit(&k);
    services_get_addresses(&k);
    generated_objects(&k);
    watch_and_wait_for_delete(&k);
    delete_with_cascade(&k);
}

/// Client-side apply with validation on: created, unchanged, configured.
fn apply_twice_then_change(k: &Kubectl<'_>, controller: &Controller) {
    let manifest = controller.node.root.path().join("web.yaml");
    std::fs::write(&manifest, DEPLOYMENT.replace("REPLICAS", "2")).unwrap();
    let file = path_str(&manifest);
    assert!(
        k.ok(&["apply", "-f", file])
            .contains("deployment.apps/web created"),
        "first apply"
    );
    let again = k.ok(&["apply", "-f", file]);
    assert!(again.contains("deployment.apps/web unchanged"), "{again}");
    std::fs::write(&manifest, DEPLOYMENT.replace("REPLICAS", "3")).unwrap();
    let changed = k.ok(&["apply", "-f", file]);
    assert!(
        changed.contains("deployment.apps/web configured"),
        "{changed}"
    );
    let web = k.json(&["get", "deployment", "web"]);
    assert_eq!(web["spec"]["replicas"], 3);
    // Kubernetes' defaults were filled in, and a spec change counted.
    assert_eq!(web["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(web["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    let pod = &web["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Always");
    assert_eq!(pod["containers"][0]["imagePullPolicy"], "IfNotPresent");
    assert_eq!(web["metadata"]["generation"], 2);
}

fn get_in_every_format(k: &Kubectl<'_>) {
    let yaml = k.ok(&["get", "deployment", "web", "-o", "yaml"]);
    assert!(
        yaml.contains("kind: Deployment") && yaml.contains("name: web"),
        "{yaml}"
    );
    assert_eq!(
        k.ok(&["get", "deployment", "web", "-o", "name"]).trim(),
        "deployment.apps/web"
    );
    assert_eq!(
        k.ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}"
        ]),
        "busybox:1.36"
    );
    let columns = k.ok(&[
        "get",
        "deploy",
        "-o",
        "custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas",
    ]);
    let rows: Vec<Vec<&str>> = columns
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows, [vec!["NAME", "REPLICAS"], vec!["web", "3"]]);
    let wide = k.ok(&["get", "deploy", "web", "-o", "wide"]);
    let header: Vec<&str> = wide.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ]
    );
    assert!(
        wide.contains("busybox:1.36") && wide.contains("app=web"),
        "{wide}"
    );
}

/// `--sort-by` sorts the rows of a server-side Table by fields of the whole objects, which kubectl
/// asks the rows to carry (`includeObject=Object`).
fn sort_by(k: &Kubectl<'_>) {
    for (name, rank) in [("sorted-b", "2"), ("sorted-c", "1"), ("sorted-a", "3")] {
        k.ok(&[
            "create",
            "configmap",
            name,
            &format!("--from-literal=rank={rank}"),
        ]);
        k.ok(&["label", "configmap", name, "sorted=yes"]);
    }
    let sorted = k.ok(&[
        "get",
        "configmaps",
        "-l",
        "sorted=yes",
        "--sort-by={.data.rank}",
    ]);
    let names: Vec<&str> = sorted
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, ["sorted-c", "sorted-b", "sorted-a"], "{sorted}");
    let columns: Vec<&str> = sorted.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(columns, ["NAME", "DATA", "AGE"], "the server's columns");
    k.ok(&["delete", "configmap", "-l", "sorted=yes"]);
}

fn scale_describe_edit(k: &Kubectl<'_>) {
    assert!(
        k.ok(&["scale", "deployment", "web", "--replicas=5"])
            .contains("deployment.apps/web scaled")
    );
    let scale: serde_json::Value = serde_json::from_str(&k.ok(&[
        "get",
        "--raw",
        "/apis/apps/v1/namespaces/default/deployments/web/scale",
    ]))
    .unwrap();
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["spec"]["replicas"], 5);
    assert_eq!(scale["status"]["selector"], "app=web");
    // A Scale with a stale resourceVersion is refused by the server.
    let out = k.run(&[
        "patch",
        "deployment",
        "web",
        "--subresource=scale",
        "--type=merge",
        "-p",
        r#"{"metadata":{"resourceVersion":"1"},"spec":{"replicas":1}}"#,
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the object has been modified"),
        "{}",
        stderr(&out)
    );

    let described = k.ok(&["describe", "deployment", "web"]);
    for expected in [
        "Name:               web",
        "Selector:           app=web",
        "5 desired",
        "StrategyType:           RollingUpdate",
    ] {
        let squeezed = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            squeezed(&described).contains(&squeezed(expected)),
            "{expected:?} missing from:\n{described}"
        );
    }

    // A non-interactive editor: sed changes the image in the file kubectl hands it.
    let out = std::process::Command::new(k.binary)
        .arg("--kubeconfig")
        .arg(k.controller.admin())
        .args(["edit", "deployment", "web"])
        .env("EDITOR", "sed -i s/busybox:1.36/busybox:1.37/")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "edit: {}", stderr(&out));
    assert!(stdout(&out).contains("deployment.apps/web edited"));
    assert_eq!(
        k.ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}"
        ]),
        "busybox:1.37"
    );

    k.ok(&["label", "deployment", "web", "tier=frontend"]);
    k.ok(&["annotate", "deployment", "web", "owner=team-a"]);
    let web = k.json(&["get", "deploy", "-l", "tier=frontend"]);
    assert_eq!(
        web["items"][0]["metadata"]["annotations"]["owner"],
        "team-a"
    );
}

fn services_get_addresses(k: &Kubectl<'_>) {
    k.ok(&[
        "expose",
        "deployment",
        "web",
        "--port=80",
        "--type=NodePort",
    ]);
    let service = k.json(&["get", "service", "web"]);
    let ip: std::net::Ipv4Addr = service["spec"]["clusterIP"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // 10.96.0.0/12, the default service CIDR; the first address is the `kubernetes` Service's.
    assert_eq!(
        u32::from(ip) >> 20,
        u32::from(std::net::Ipv4Addr::new(10, 96, 0, 0)) >> 20
    );
    assert_ne!(ip, std::net::Ipv4Addr::new(10, 96, 0, 1));
    let node_port = service["spec"]["ports"][0]["nodePort"].as_u64().unwrap();
    assert!((30000..=32767).contains(&node_port), "{node_port}");
    let out = k.run(&[
        "create",
        "service",
        "clusterip",
        "copy",
        "--tcp=80",
        &format!("--clusterip={ip}"),
    ]);
    assert!(
        stderr(&out).contains("provided IP is already allocated"),
        "{}",
        stderr(&out)
    );
    // Deleting the Service frees its address for the next one that asks for it.
    k.ok(&["delete", "service", "web"]);
    k.ok(&[
        "create",
        "service",
        "clusterip",
        "copy",
        "--tcp=80",
        &format!("--clusterip={ip}"),
    ]);
}

/// `kubectl create <kind>` builds typed objects (kubectl 1.33 sends them as protobuf): Go's zero
/// values mean "unset", and the server fills in what Kubernetes fills in.
fn generated_objects(k: &Kubectl<'_>) {
    k.ok(&["create", "namespace", "team"]);
    k.ok(&[
        "create",
        "service",
        "nodeport",
        "np",
        "--tcp=80:8080",
        "-n",
        "team",
    ]);
    let service = k.json(&["get", "service", "np", "-n", "team"]);
    let port = &service["spec"]["ports"][0];
    assert_eq!(port["targetPort"], 8080);
    assert!(
        port["nodePort"].as_u64().is_some_and(|p| p >= 30000),
        "{port}"
    );
    k.ok(&[
        "create",
        "job",
        "once",
        "--image=busybox:1.36",
        "-n",
        "team",
        "--",
        "echo",
        "hi",
    ]);
    let job = k.json(&["get", "job", "once", "-n", "team"]);
    let uid = job["metadata"]["uid"].as_str().unwrap();
    assert_eq!(
        job["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"],
        uid
    );
    assert_eq!(
        job["spec"]["template"]["metadata"]["labels"]["batch.kubernetes.io/job-name"],
        "once"
    );
    assert_eq!(job["spec"]["backoffLimit"], 6);
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["command"],
        serde_json::json!(["echo", "hi"])
    );
    k.ok(&[
        "create",
        "secret",
        "generic",
        "pw",
        "--from-literal=password=s3cret",
        "-n",
        "team",
    ]);
    let secret = k.json(&["get", "secret", "pw", "-n", "team"]);
    assert_eq!(secret["data"]["password"], "czNjcmV0");
    assert_eq!(secret["type"], "Opaque");
}

fn watch_and_wait_for_delete(k: &Kubectl<'_>) {
    let (mut watcher, lines) = k.spawn(&["get", "configmaps", "-w", "--output-watch-events"]);
    k.ok(&["create", "configmap", "watched", "--from-literal=a=1"]);
    expect_line(&lines, &["ADDED", "watched"]);
    k.ok(&["label", "configmap", "watched", "seen=yes"]);
    expect_line(&lines, &["MODIFIED", "watched"]);

    let (mut waiter, _) = k.spawn(&["wait", "--for=delete", "configmap/watched", "--timeout=60s"]);
    k.ok(&["delete", "configmap", "watched"]);
    expect_line(&lines, &["DELETED", "watched"]);
    let status = waiter.wait().unwrap();
    assert!(status.success(), "kubectl wait --for=delete failed");
    let _ = watcher.kill();
    let _ = watcher.wait();
}

fn delete_with_cascade(k: &Kubectl<'_>) {
    for (name, cascade) in [("a", "orphan"), ("b", "background"), ("c", "foreground")] {
        k.ok(&["create", "configmap", name]);
        let out = k.ok(&[
            "delete",
            "configmap",
            name,
            &format!("--cascade={cascade}"),
            "--wait",
        ]);
        assert!(
            out.contains(&format!("configmap \"{name}\" deleted")),
            "{out}"
        );
    }
    let out = k.run(&["delete", "deployment", "web", "--wait"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = k.run(&["get", "deployment", "web"]);
    assert!(
        stderr(&out).contains(r#"deployments.apps "web" not found"#),
        "{}",
        stderr(&out)
    );
    let out = k.run(&["delete", "configmap", "nothing-here", "--cascade=sideways"]);
    assert!(!out.status.success());
}
