//! Pulling from a registry: Debian's docker-registry on loopback in the node's network namespace,
//! the busybox test image pushed to it with skopeo, then run by reference; a missing image backs
//! off as `ImagePullBackOff`.

mod harness;

use harness::single_node::SingleNode;
use harness::{path_str, stdout};

/// The registry's address inside the node's namespace (containerd reaches `127.0.0.1` registries
/// over plain HTTP).
const REGISTRY: &str = "127.0.0.1:5000";

#[test]
fn images_are_pulled_from_a_registry_and_a_missing_one_backs_off() {
    let cluster = SingleNode::start();
    let root = cluster.node.root.path();
    let config = root.join("registry.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog: {{level: warn}}\nstorage:\n  filesystem: {{rootdirectory: {}}}\nhttp: {{addr: \"{REGISTRY}\"}}\n",
            root.join("registry").display()
        ),
    )
    .unwrap();
    let mut registry = cluster.spawn_command("docker-registry", &["serve", path_str(&config)]);
    let tarball = cluster.node.data_dir().join("images").join("busybox.tar");
    let image = format!("{REGISTRY}/tests/busybox:pulled");
    cluster.eventually(30, "skopeo to push to the registry", || {
        cluster
            .command(
                "skopeo",
                &[
                    "copy",
                    "--dest-tls-verify=false",
                    &format!("oci-archive:{}:latest", tarball.display()),
                    &format!("docker://{image}"),
                ],
            )
            .status
            .success()
    });

    cluster.run(&[
        "run",
        "pulled",
        &format!("--image={image}"),
        "--",
        "sleep",
        "1d",
    ]);
    cluster.eventually(60, "the pulled pod Running", || {
        cluster.pod_field("pulled", ".status.phase") == "Running"
    });
    let image_id = cluster.pod_field("pulled", ".status.containerStatuses[0].imageID");
    assert!(
        image_id.starts_with(&format!("{REGISTRY}/tests/busybox@sha256:")),
        "the pulled image's digest: {image_id}"
    );
    let images = stdout(
        &cluster
            .node
            .k0rs(&["ctr", "images", "ls", "-q"])
            .output()
            .unwrap(),
    );
    assert!(images.contains(&image), "containerd has {image}: {images}");

    cluster.run(&[
        "run",
        "missing",
        &format!("--image={REGISTRY}/tests/nope:1"),
        "--",
        "sleep",
        "1d",
    ]);
    let waiting = ".status.containerStatuses[0].state.waiting.reason";
    cluster.eventually(60, "ImagePullBackOff after a failed pull", || {
        cluster.pod_field("missing", waiting) == "ImagePullBackOff"
    });
    let _ = registry.kill();
    let _ = registry.wait();
}
