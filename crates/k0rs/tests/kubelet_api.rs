//! The kubelet API through the API server, on real containers (`k0rs controller --single`):
//! `kubectl logs`, `exec`, `cp` and `port-forward` with kubectl 1.28 (SPDY) and 1.33.

mod harness;

use harness::single_node::SingleNode;

/// kubectl 1.28 (SPDY) and 1.33 (WebSocket first) against the kubelet API through the API server.
const KUBECTLS: [&str; 2] = ["kubectl", KUBECTL_1_33];
const KUBECTL_1_33: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";

/// kubectl 1.33 falls back to SPDY silently when a WebSocket upgrade is refused; at `-v=4` it
/// logs what it negotiated, so the checks below can tell that WebSocket was really used.
fn verbose(kubectl: &str) -> &'static [&'static str] {
    if kubectl == KUBECTL_1_33 {
        &["-v=4"]
    } else {
        &[]
    }
}

#[test]
fn logs_exec_cp_and_port_forward_reach_the_containers() {
    let cluster = SingleNode::start();
    cluster.run(&[
        "run",
        "talker",
        "--image=busybox",
        "--",
        "sh",
        "-c",
        "echo first; echo oops >&2; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.3; done",
    ]);
    cluster.run(&[
        "run",
        "web",
        "--image=busybox",
        "--",
        "sh",
        "-c",
        "mkdir -p /www && echo hello-page > /www/index.html && exec httpd -f -p 8080 -h /www",
    ]);
    for pod in ["talker", "web"] {
        cluster.eventually(60, "pods Running", || {
            cluster.pod_field(pod, ".status.phase") == "Running"
        });
    }
    logs(&cluster);
    exec_and_cp(&cluster);
    port_forward(&cluster);
}

/// logs: whole, tail, timestamps, follow, and no previous container.
fn logs(cluster: &SingleNode) {
    cluster.eventually(20, "a few log lines", || {
        cluster.run(&["logs", "talker"]).lines().count() > 4
    });
    let logs = cluster.run(&["logs", "talker"]);
    // stdout and stderr are separate pipes: their lines interleave in either order.
    let mut head: Vec<&str> = logs.lines().take(3).collect();
    head.sort_unstable();
    assert_eq!(head, ["first", "oops", "tick 0"], "{logs}");
    assert_eq!(
        cluster.run(&["logs", "talker", "--tail=1"]).lines().count(),
        1
    );
    let stamped = cluster.run(&["logs", "talker", "--tail=1", "--timestamps"]);
    assert!(
        stamped.starts_with("20") && stamped.contains("Z tick "),
        "{stamped}"
    );
    let mut follow = cluster.spawn_command(
        "kubectl",
        &[
            "--kubeconfig",
            harness::path_str(&cluster.admin()),
            "logs",
            "-f",
            "talker",
            "--tail=1",
        ],
    );
    std::thread::sleep(std::time::Duration::from_secs(2));
    let _ = follow.kill();
    let followed = harness::stdout(&follow.wait_with_output().unwrap());
    assert!(
        followed.lines().filter(|l| l.starts_with("tick ")).count() >= 3,
        "logs -f keeps streaming: {followed}"
    );
    let previous = cluster.kubectl(&["logs", "talker", "--previous"]);
    assert!(
        harness::stderr(&previous).contains("previous terminated container"),
        "{}",
        harness::stderr(&previous)
    );
}

/// exec with stdin and exit codes (both protocols), and cp both ways.
fn exec_and_cp(cluster: &SingleNode) {
    for kubectl in KUBECTLS {
        let args = [verbose(kubectl), &["exec", "-i", "talker", "--", "cat"]].concat();
        // stdin's end reaches cat: over WebSocket only v5's CLOSE signal can say so.
        let out = cluster.kubectl_with_input(kubectl, &args, b"hi through stdin\n");
        assert_eq!(
            harness::stdout(&out),
            "hi through stdin\n",
            "{kubectl}: {}",
            harness::stderr(&out)
        );
        if kubectl == KUBECTL_1_33 {
            assert!(
                harness::stderr(&out).contains("The subprotocol is v5.channel.k8s.io"),
                "kubectl 1.33 execs over WebSocket v5: {}",
                harness::stderr(&out)
            );
        }
        let args = [
            verbose(kubectl),
            &[
                "exec",
                "talker",
                "--",
                "sh",
                "-c",
                "echo out; echo err >&2; exit 3",
            ],
        ]
        .concat();
        let out = cluster.kubectl_with_input(kubectl, &args, b"");
        assert_eq!(
            out.status.code(),
            Some(3),
            "{kubectl}: the exit code is passed on"
        );
        assert_eq!(harness::stdout(&out), "out\n");
        assert!(
            harness::stderr(&out).contains("err") && harness::stderr(&out).contains("exit code 3"),
            "{}",
            harness::stderr(&out)
        );
    }

    attach(cluster);
    terminal(cluster);

    let local = cluster.node.root.path().join("upload.txt");
    std::fs::write(&local, "copied both ways\n").unwrap();
    cluster.run(&["cp", harness::path_str(&local), "talker:/tmp/upload.txt"]);
    let back = cluster.node.root.path().join("back.txt");
    cluster.run(&["cp", "talker:/tmp/upload.txt", harness::path_str(&back)]);
    assert_eq!(
        std::fs::read_to_string(&back).unwrap(),
        "copied both ways\n"
    );
}

/// `exec -t` under a terminal of 40 × 100 (`script` gives kubectl one): the size reaches the
/// container through the resize stream (applied after the process starts, hence the sleep), and
/// the tty's output comes back.
fn terminal(cluster: &SingleNode) {
    let admin = cluster.admin();
    for kubectl in KUBECTLS {
        let line = format!(
            "stty rows 40 cols 100; {kubectl} {} --kubeconfig {} exec -it talker -- sh -c 'sleep 1; stty size'",
            verbose(kubectl).join(" "),
            harness::path_str(&admin)
        );
        let out = cluster.command("script", &["-qec", &line, "/dev/null"]);
        let printed = harness::stdout(&out);
        assert!(
            // (script echoes its stdin's end to the terminal as ^@ before the output.)
            printed.lines().any(|l| l.trim().ends_with("40 100")),
            "{kubectl}: {printed}"
        );
        if kubectl == KUBECTL_1_33 {
            assert!(
                printed.contains("The subprotocol is v5.channel.k8s.io"),
                "kubectl 1.33 used WebSocket v5: {printed}"
            );
        }
    }
}

/// `kubectl run -i` attaches to the new container: stdin reaches it, its output comes back, and
/// the session ends when the container does.
fn attach(cluster: &SingleNode) {
    for (n, kubectl) in KUBECTLS.iter().enumerate() {
        let name = format!("reader-{n}");
        let args = [
            verbose(kubectl),
            &[
                "run",
                &name,
                "-i",
                "--rm",
                "--restart=Never",
                "--image=busybox",
                "--",
                "sh",
                "-c",
                "read line; echo \"got $line\"",
            ],
        ]
        .concat();
        let out = cluster.kubectl_with_input(kubectl, &args, b"ping\n");
        assert!(
            harness::stdout(&out).contains("got ping"),
            "{kubectl}: {} {}",
            harness::stdout(&out),
            harness::stderr(&out)
        );
        if *kubectl == KUBECTL_1_33 {
            assert!(
                harness::stderr(&out).contains("The subprotocol is v5.channel.k8s.io"),
                "kubectl 1.33 attaches over WebSocket v5: {}",
                harness::stderr(&out)
            );
        }
    }
}

/// port-forward to busybox httpd with both kubectl versions.
fn port_forward(cluster: &SingleNode) {
    for (n, kubectl) in KUBECTLS.iter().enumerate() {
        let port = format!("1808{n}");
        let ports = format!("{port}:8080");
        let admin = cluster.admin();
        let args = [
            verbose(kubectl),
            &[
                "--kubeconfig",
                harness::path_str(&admin),
                "port-forward",
                "pod/web",
                &ports,
            ],
        ]
        .concat();
        let mut forward = cluster.spawn_command(kubectl, &args);
        let url = format!("http://127.0.0.1:{port}/index.html");
        cluster.eventually(20, "the page through port-forward", || {
            harness::stdout(&cluster.command("curl", &["-s", "--max-time", "2", &url]))
                == "hello-page\n"
        });
        let _ = forward.kill();
        let log = harness::stderr(&forward.wait_with_output().unwrap());
        if *kubectl == KUBECTL_1_33 {
            assert!(
                log.contains("negotiated protocol: portforward.k8s.io"),
                "kubectl 1.33 port-forwards through the WebSocket tunnel: {log}"
            );
        }
    }
}

#[test]
fn container_logs_are_rotated_and_the_newest_still_read() {
    let cluster = SingleNode::start_with(
        "",
        &[
            "--single",
            "--kubelet-extra-args=--container-log-max-size=2Ki --container-log-max-files=3",
        ],
    );
    cluster.run(&[
        "run",
        "chatty",
        "--image=busybox",
        "--",
        "sh",
        "-c",
        "i=0; while true; do echo line-$i-padding-padding-padding-padding; i=$((i+1)); sleep 0.01; done",
    ]);
    cluster.eventually(60, "chatty Running", || {
        cluster.pod_field("chatty", ".status.phase") == "Running"
    });
    let uid = cluster.pod_field("chatty", ".metadata.uid");
    let dir = cluster
        .node
        .data_dir()
        .join("kubelet/logs")
        .join(format!("default_chatty_{uid}"))
        .join("chatty");
    let files = || -> Vec<String> {
        std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    cluster.eventually(60, "two rotations", || {
        files().iter().filter(|f| f.starts_with("0.log.")).count() >= 2
    });
    // However long it runs, at most the current file and two rotated ones stay.
    std::thread::sleep(std::time::Duration::from_secs(12));
    let now = files();
    assert!(
        now.len() <= 3 && now.contains(&"0.log".to_owned()),
        "{now:?}"
    );
    let logs = cluster.run(&["logs", "chatty", "--tail=1"]);
    let newest: u64 = logs
        .trim()
        .strip_prefix("line-")
        .and_then(|l| l.split('-').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a line of the current file: {logs:?}"));
    assert!(
        newest > 100,
        "the newest lines, read after rotations: {logs}"
    );
}
