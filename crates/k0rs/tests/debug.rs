//! `kubectl debug` with ephemeral containers on a real node (`k0rs controller --single`): the
//! `pods/ephemeralcontainers` subresource, the kubelet running the container once in the pod
//! (in its target's process namespace with `--target`), `ephemeralContainerStatuses`, and
//! `kubectl attach` (through `debug -i`) to a debugging shell.

mod harness;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use harness::single_node::SingleNode;
use harness::{stderr, stdout};

/// The debugging image: busybox under a pinned tag, so it is never pulled.
const IMAGE: &str = "--image=busybox:1.35";

#[test]
fn kubectl_debug_runs_ephemeral_containers_beside_the_target() {
    let cluster = SingleNode::start();
    cluster.run(&[
        "run",
        "web",
        "--image=busybox",
        "--",
        "sh",
        "-c",
        "trap 'exit 0' TERM; sleep 3600 & wait",
    ]);
    cluster.eventually(60, "pod web Running", || {
        cluster.pod_field("web", ".status.phase") == "Running"
    });

    // One-shot: `ps` in the target's process namespace lists the target's processes.
    let out = cluster.kubectl(&["debug", "web", IMAGE, "--target=web", "--", "ps"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = format!("{}{}", stdout(&out), stderr(&out));
    let name = said
        .split("Defaulting debug container name to ")
        .nth(1)
        .and_then(|rest| rest.split('.').next())
        .unwrap_or_else(|| panic!("no debug container name in: {said}"))
        .to_owned();
    cluster.eventually(60, "the debug container's ps output", || {
        cluster
            .run(&["logs", "web", "-c", &name])
            .contains("sleep 3600")
    });
    cluster.eventually(30, "the debug container terminated", || {
        cluster.pod_field(
            "web",
            &format!(
                ".status.ephemeralContainerStatuses[?(@.name==\"{name}\")].state.terminated.reason"
            ),
        ) == "Completed"
    });
    let pod = cluster.json(&["get", "pod", "web"]);
    assert_eq!(
        pod["spec"]["ephemeralContainers"][0]["targetContainerName"],
        "web"
    );
    // The pod's own containers run on.
    assert_eq!(pod["status"]["containerStatuses"][0]["restartCount"], 0);

    // Interactive: `debug -i` waits for the shell, then attaches to it. Its stdin stays open
    // until the answer is back: the runtime ends an attach whose stdin closes (the container
    // is not `stdinOnce`), as with kube-apiserver.
    let mut debug = cluster
        .net
        .command("kubectl")
        .arg("--kubeconfig")
        .arg(cluster.admin())
        .args([
            "debug",
            "-i",
            "web",
            IMAGE,
            "--container=shell",
            "--target=web",
            "--",
            "sh",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = debug.stdin.take().unwrap();
    let mut lines = BufReader::new(debug.stdout.take().unwrap()).lines();
    // Asked again until the attach is up: what the shell answers before it goes to its log only.
    let answered = std::thread::spawn(move || {
        lines.find(|l| l.as_ref().is_ok_and(|l| l.starts_with("attached-")))
    });
    let deadline = Instant::now() + Duration::from_mins(1);
    while !answered.is_finished() && Instant::now() < deadline {
        let _ = stdin.write_all(b"echo attached-$((40 + 2))\n");
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = stdin.write_all(b"exit\n");
    drop(stdin);
    let line = answered.join().unwrap();
    let _ = debug.kill();
    let _ = debug.wait();
    assert_eq!(line.and_then(Result::ok).as_deref(), Some("attached-42"));

    // Existing ephemeral containers cannot be changed through the subresource.
    let mut pod = cluster.json(&["get", "pod", "web"]);
    pod["spec"]["ephemeralContainers"][0]["image"] = "other".into();
    let file = cluster.node.root.path().join("pod.json");
    std::fs::write(&file, pod.to_string()).unwrap();
    let out = cluster.kubectl(&[
        "replace",
        "--raw",
        "/api/v1/namespaces/default/pods/web/ephemeralcontainers",
        "-f",
        harness::path_str(&file),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("may not be changed"),
        "{}",
        stderr(&out)
    );
}
