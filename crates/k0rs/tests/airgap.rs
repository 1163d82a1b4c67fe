//! Air-gapped installs through the real binary: `airgap list-images` names the pause image and
//! the images of the manifest deployer's stacks; `airgap bundle-artifacts` writes them as one
//! image tarball (the pause image built, the others from the node's containerd), refusing bad
//! input without writing anything; and a bundle made on one node runs a Deployment on a second
//! node that has no registry and no other image.

mod harness;

use std::path::Path;
use std::process::Output;

use harness::single_node::SingleNode;
use harness::worker_node::{WorkerNode, token};
use harness::{Node, path_str, run_with_stdin, stderr, stdout, tool};

const PAUSE: &str = "registry.k8s.io/pause:3.9";

/// The image names a tarball's OCI index gives containerd.
fn names_in(tarball: &Path) -> Vec<String> {
    let out = tool("tar", &["-xOf", path_str(tarball), "index.json"]);
    assert!(
        out.status.success(),
        "{}: {}",
        tarball.display(),
        stderr(&out)
    );
    let index: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut names: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["annotations"]["io.containerd.image.name"].as_str())
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

/// The files in `dir`, to show that a refused command left nothing behind.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn list_images_names_the_pause_image_and_the_stacks_images() {
    let node = Node::new();
    for args in [
        &["airgap", "list-images"][..],
        &["airgap", "list-images", "--all"],
    ] {
        let out = node.k0rs(args).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stdout(&out), format!("{PAUSE}\n"), "{args:?}");
    }
    let stack = node.data_dir().join("manifests").join("apps");
    std::fs::create_dir_all(&stack).unwrap();
    std::fs::write(
        stack.join("apps.yaml"),
        "apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers: [{name: init, image: busybox}]
      containers: [{name: web, image: 'nginx:1.25'}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: '* * * * *'
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: tick, image: 'quay.io/example/tick:2'}]
",
    )
    .unwrap();
    let out = node.k0rs(&["airgap", "list-images"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "{PAUSE}\ndocker.io/library/busybox:latest\ndocker.io/library/nginx:1.25\nquay.io/example/tick:2\n"
        )
    );
}

#[test]
fn bundle_artifacts_writes_the_pause_image_and_refuses_bad_input_writing_nothing() {
    let node = Node::new();
    let out_dir = node.root.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let bundle = out_dir.join("bundle.tar");

    // No names and nothing on stdin: what list-images prints, here the pause image.
    let out = node
        .k0rs(&["airgap", "bundle-artifacts", "-o", path_str(&bundle)])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(names_in(&bundle), [PAUSE]);
    std::fs::remove_file(&bundle).unwrap();

    // Names on stdin, as `list-images | bundle-artifacts` gives them.
    let out = run_with_stdin(
        &mut node.k0rs(&["airgap", "bundle-artifacts", "-o", path_str(&bundle)]),
        format!("{PAUSE}\n").as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(names_in(&bundle), [PAUSE]);
    std::fs::remove_file(&bundle).unwrap();

    let refused = |args: &[&str], needle: &str| {
        let out: Output = node
            .k0rs(&[&["airgap", "bundle-artifacts"], args].concat())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert!(
            files_in(&out_dir).is_empty(),
            "{args:?} left {:?}",
            files_in(&out_dir)
        );
    };
    // An image k0rs does not build, and no containerd on this node to take it from.
    refused(
        &["-o", path_str(&bundle), "nginx:1.25"],
        "cannot bundle docker.io/library/nginx:1.25: k0rs builds only registry.k8s.io/pause:3.9 itself",
    );
    refused(
        &["-o", path_str(&bundle), "Not An Image", PAUSE],
        "image reference \"Not An Image\"",
    );
    refused(&["-o", path_str(&out_dir), PAUSE], "is a directory");
    let nowhere = out_dir.join("missing").join("bundle.tar");
    refused(&["-o", path_str(&nowhere), PAUSE], "does not exist");
}

/// `k0rs <args>` on the cluster's node with `stdin`.
fn k0rs_on(cluster: &SingleNode, args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = cluster
        .net
        .command(assert_cmd::cargo::cargo_bin!("k0rs").to_str().unwrap());
    cmd.arg("--data-dir")
        .arg(cluster.node.data_dir())
        .arg("--run-dir")
        .arg(cluster.node.run_dir())
        .args(args);
    run_with_stdin(&mut cmd, stdin)
}

#[test]
fn a_bundle_made_on_one_node_runs_a_deployment_on_another_without_a_registry() {
    let mut cluster = SingleNode::prepare("", &["--enable-worker", "--no-taints"]);
    // The manifest deployer runs the app, on node B only; its image exists nowhere but in
    // node A's containerd, under a name no registry serves.
    let stack = cluster.node.data_dir().join("manifests").join("app");
    std::fs::create_dir_all(&stack).unwrap();
    std::fs::write(
        stack.join("app.yaml"),
        "apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: default}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      nodeSelector: {kubernetes.io/hostname: node-b}
      containers: [{name: app, image: 'example.com/team/app:v1', command: [sleep, 1d]}]
",
    )
    .unwrap();
    cluster.spawn();
    cluster.wait_node_ready();
    let out = cluster.k0rs(&[
        "ctr",
        "images",
        "tag",
        "docker.io/library/busybox:latest",
        "example.com/team/app:v1",
    ]);
    assert!(out.status.success(), "ctr tag: {}", stderr(&out));

    let listed = cluster.k0rs(&["airgap", "list-images"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert_eq!(
        stdout(&listed),
        format!("{PAUSE}\nexample.com/team/app:v1\n")
    );
    let bundle = cluster.node.root.path().join("bundle.tar");
    let out = k0rs_on(
        &cluster,
        &["airgap", "bundle-artifacts", "-o", path_str(&bundle)],
        &listed.stdout,
    );
    assert!(out.status.success(), "bundle-artifacts: {}", stderr(&out));
    assert_eq!(names_in(&bundle), ["example.com/team/app:v1", PAUSE]);

    let worker =
        WorkerNode::join_with_images(&cluster.lan, "node-b", &token(&cluster, &[]), Some(&bundle));
    worker.wait_ready(&cluster);
    cluster.eventually(90, "the app Running on node-b", || {
        let pods = cluster.json(&["get", "pods", "-l", "app=app"]);
        pods["items"].as_array().is_some_and(|items| {
            items
                .iter()
                .any(|p| p["spec"]["nodeName"] == "node-b" && p["status"]["phase"] == "Running")
        })
    });
    let images = worker
        .node
        .k0rs(&["ctr", "images", "ls", "--quiet"])
        .output()
        .unwrap();
    assert!(
        stdout(&images)
            .lines()
            .any(|l| l == "example.com/team/app:v1"),
        "{}",
        worker.output_of(&images)
    );
    // Gone while node B's kubelet still runs, so the teardown finds no pod to wait for.
    std::fs::remove_dir_all(&stack).unwrap();
    cluster.eventually(60, "the app removed", || {
        cluster.json(&["get", "pods", "-l", "app=app"])["items"]
            .as_array()
            .is_some_and(Vec::is_empty)
    });
}
