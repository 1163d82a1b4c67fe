//! Pulling from a registry: Debian's docker-registry on loopback in the node's network namespace,
//! the busybox test image pushed to it with skopeo, then run by reference; a missing image backs
//! off as `ImagePullBackOff`; the image garbage collector removes the pulled image once no
//! container uses it, and never the pinned ones.

mod harness;

use std::path::{Path, PathBuf};

use harness::single_node::SingleNode;
use harness::{path_str, stdout};
use serde_json::{Value, json};
use sha2::Digest as _;

/// The registry's address inside the node's namespace (containerd reaches `127.0.0.1` registries
/// over plain HTTP).
const REGISTRY: &str = "127.0.0.1:5000";

/// An OCI layout of the busybox test image with a label added to its config: another image id
/// (the pinned busybox would otherwise be the very same image under another name).
fn relabelled_busybox(tarball: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let untar = std::process::Command::new("tar")
        .args(["-xf", path_str(tarball), "-C", path_str(dir)])
        .status()
        .unwrap();
    assert!(untar.success());
    let blob = |digest: &str| {
        dir.join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let write_blob = |bytes: Vec<u8>| {
        let digest = sha2::Sha256::digest(&bytes)
            .iter()
            .fold(String::new(), |mut hex, b| {
                use std::fmt::Write as _;
                let _ = write!(hex, "{b:02x}");
                hex
            });
        std::fs::write(dir.join("blobs/sha256").join(&digest), &bytes).unwrap();
        (format!("sha256:{digest}"), bytes.len())
    };
    let read =
        |path: PathBuf| -> Value { serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap() };
    let index = read(dir.join("index.json"));
    let mut manifest = read(blob(index["manifests"][0]["digest"].as_str().unwrap()));
    let mut config = read(blob(manifest["config"]["digest"].as_str().unwrap()));
    config["config"]["Labels"] = json!({"k0rs.test": "image-gc"});
    let (digest, size) = write_blob(serde_json::to_vec(&config).unwrap());
    manifest["config"]["digest"] = json!(digest);
    manifest["config"]["size"] = json!(size);
    let (digest, size) = write_blob(serde_json::to_vec(&manifest).unwrap());
    let index = json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": size,
        "annotations": {"org.opencontainers.image.ref.name": "gc"},
    }]});
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
}

#[test]
fn images_are_pulled_from_a_registry_a_missing_one_backs_off_and_unused_ones_are_collected() {
    // Collect whatever is unused (and unpinned) for 5 s, however empty the disk.
    let cluster = SingleNode::start_with(
        "",
        &[
            "--single",
            "--kubelet-extra-args=--image-gc-high-threshold=0 --image-gc-low-threshold=0 --minimum-image-ttl-duration=5s",
        ],
    );
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
    let layout = root.join("layout");
    relabelled_busybox(&tarball, &layout);
    push(&cluster, &layout, &image);

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
    let images = || {
        stdout(
            &cluster
                .node
                .k0rs(&["ctr", "images", "ls", "-q"])
                .output()
                .unwrap(),
        )
    };
    assert!(
        images().contains(&image),
        "containerd has {image}: {}",
        images()
    );
    let pulled_at = std::time::Instant::now();

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

    // Two collection rounds past the minimum age: the running pod's image stays.
    std::thread::sleep(std::time::Duration::from_secs(25).saturating_sub(pulled_at.elapsed()));
    assert!(
        images().contains(&image),
        "an image in use is kept: {}",
        images()
    );
    cluster.run(&["delete", "pod", "pulled", "--grace-period=1"]);
    cluster.eventually(60, "the unused pulled image collected", || {
        !images().contains(&image)
    });
    let left = images();
    assert!(
        left.contains("docker.io/library/busybox:latest")
            && left.contains("registry.k8s.io/pause:3.9"),
        "pinned images stay: {left}"
    );
    let _ = registry.kill();
    let _ = registry.wait();
}

/// Pushes the OCI layout's `gc` image to `image` with skopeo. The registry takes a moment to
/// listen; skopeo's last complaint says why if it never does.
fn push(cluster: &SingleNode, layout: &Path, image: &str) {
    let mut complaint = String::new();
    let pushed = (0..150).any(|_| {
        let out = cluster.command(
            "skopeo",
            &[
                "copy",
                "--dest-tls-verify=false",
                &format!("oci:{}:gc", layout.display()),
                &format!("docker://{image}"),
            ],
        );
        complaint = String::from_utf8_lossy(&out.stderr).into_owned();
        out.status.success() || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            false
        }
    });
    assert!(pushed, "skopeo did not push to the registry: {complaint}");
}
