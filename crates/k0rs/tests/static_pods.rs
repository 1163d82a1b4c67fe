//! Static pods on real containers: manifests in `<data-dir>/kubelet/manifests` run as pods with
//! mirror pods in the API; a changed manifest replaces its pod, a removed one deletes it.

mod harness;

use harness::single_node::SingleNode;

#[test]
fn manifests_run_as_static_pods_with_mirrors() {
    let cluster = SingleNode::start();
    let node = cluster.run(&["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"]);
    let dir = cluster.node.data_dir().join("kubelet").join("manifests");
    let manifest = |command: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: web, namespace: kube-system, labels: {{tier: static}}}}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: main\n    image: busybox\n    imagePullPolicy: Never\n    command: [\"sh\", \"-c\", \"{command}\"]\n"
        )
    };
    // Written elsewhere and renamed in, as editors and config tools do.
    let write = |text: String| {
        let staged = dir.join(".web.yaml.tmp");
        std::fs::write(&staged, text).unwrap();
        std::fs::rename(&staged, dir.join("web.yaml")).unwrap();
    };
    write(manifest("trap 'exit 0' TERM; sleep 1000 & wait"));
    let mirror = format!("web-{node}");
    // Empty while there is no mirror (it is replaced under the test's feet).
    let field = |path: &str| {
        harness::stdout(&cluster.kubectl(&[
            "get",
            "pod",
            &mirror,
            "-n",
            "kube-system",
            "--ignore-not-found",
            "-o",
            &format!("jsonpath={path}"),
        ]))
        .trim()
        .to_owned()
    };
    let exists = || {
        cluster
            .kubectl(&["get", "pod", &mirror, "-n", "kube-system"])
            .status
            .success()
    };
    cluster.eventually(60, "the static pod Running through its mirror", || {
        exists() && field("{.status.phase}") == "Running"
    });
    assert!(!field("{.metadata.annotations.kubernetes\\.io/config\\.mirror}").is_empty());
    assert_eq!(field("{.metadata.ownerReferences[0].kind}"), "Node");
    assert_eq!(field("{.metadata.labels.tier}"), "static");
    assert_eq!(field("{.spec.nodeName}"), node);
    let first_uid = field("{.metadata.uid}");

    write(manifest(
        "trap 'exit 0' TERM; echo second; sleep 1000 & wait",
    ));
    cluster.eventually(60, "the changed manifest's pod replacing the first", || {
        let uid = field("{.metadata.uid}");
        !uid.is_empty() && uid != first_uid && field("{.status.phase}") == "Running"
    });
    cluster.eventually(20, "the new pod's output", || {
        cluster
            .run(&["logs", "-n", "kube-system", &mirror])
            .contains("second")
    });

    std::fs::remove_file(dir.join("web.yaml")).unwrap();
    cluster.eventually(60, "the pod gone with its manifest", || !exists());
}
