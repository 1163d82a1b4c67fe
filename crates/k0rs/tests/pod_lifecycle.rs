//! Pods' security context, HTTPS probes, lifecycle hooks and the loss of a sandbox
//! on real containers (`k0rs controller --single`), judged with kubectl and with files the
//! containers write into a hostPath volume.

mod harness;

use harness::single_node::{SingleNode, out_dir, read};

#[test]
fn security_contexts_run_as_non_root_and_give_volumes_to_the_fs_group() {
    let cluster = SingleNode::start();
    let out = out_dir(&cluster);
    // The container runs as uid 1000.
    std::fs::set_permissions(&out, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    cluster.run(&[
        "create",
        "secret",
        "generic",
        "token",
        "--from-literal=key=s3cret",
    ]);
    cluster.apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: rooted}}
spec:
  securityContext: {{runAsNonRoot: true}}
  containers:
  - {{name: main, image: busybox, command: ["sleep", "1000"]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: grouped}}
spec:
  terminationGracePeriodSeconds: 1
  securityContext: {{runAsNonRoot: true, runAsUser: 1000, fsGroup: 4321}}
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "id -G > /out/groups; stat -c %g /data > /out/data-group; echo hi > /data/f && stat -c %g /data/f > /out/file-group; stat -L -c %g /secret/key > /out/secret-group; cat /secret/key > /out/secret; sleep 1000"]
    volumeMounts:
    - {{name: data, mountPath: /data}}
    - {{name: secret, mountPath: /secret}}
    - {{name: out, mountPath: /out}}
  volumes:
  - {{name: data, emptyDir: {{}}}}
  - {{name: secret, secret: {{secretName: token}}}}
  - {{name: out, hostPath: {{path: {out}}}}}
"#,
        out = out.display()
    ));
    let waiting = ".status.containerStatuses[0].state.waiting";
    cluster.eventually(60, "the root pod refused", || {
        cluster.pod_field("rooted", &format!("{waiting}.reason")) == "CreateContainerConfigError"
    });
    assert!(
        cluster
            .pod_field("rooted", &format!("{waiting}.message"))
            .starts_with("container has runAsNonRoot and image will run as root"),
        "{}",
        cluster.pod_field("rooted", &format!("{waiting}.message"))
    );

    cluster.eventually(60, "the fsGroup pod's findings", || {
        !read(&out, "secret").is_empty()
    });
    assert!(
        read(&out, "groups").split_whitespace().any(|g| g == "4321"),
        "the fsGroup is a supplemental group: {}",
        read(&out, "groups")
    );
    for file in ["data-group", "file-group", "secret-group"] {
        assert_eq!(read(&out, file).trim(), "4321", "{file}");
    }
    assert_eq!(read(&out, "secret"), "s3cret", "readable for uid 1000");
}

#[test]
fn https_probes_do_not_verify_the_certificate() {
    let cluster = SingleNode::start();
    // A TLS server with a self-signed certificate in the node's namespace (the probe's host).
    let dir = cluster.node.root.path();
    let (cert, key) = (dir.join("probe.crt"), dir.join("probe.key"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-subj", "/CN=probe", "-days", "1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", harness::stderr(&made));
    let address = format!("{}:8443", harness::single_node::NODE_IP);
    let mut server = cluster.spawn_command(
        "openssl",
        &[
            "s_server",
            "-quiet",
            "-www",
            "-accept",
            &address,
            "-cert",
            harness::path_str(&cert),
            "-key",
            harness::path_str(&key),
        ],
    );
    let probe = |scheme: &str| {
        format!(
            "readinessProbe: {{httpGet: {{scheme: {scheme}, host: {}, port: 8443, path: /, httpHeaders: [{{name: X-Probe, value: k0rs}}]}}, periodSeconds: 1}}",
            harness::single_node::NODE_IP
        )
    };
    cluster.apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: tls}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: busybox
    command: ["sleep", "1000"]
    {https}
---
apiVersion: v1
kind: Pod
metadata: {{name: plain}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: busybox
    command: ["sleep", "1000"]
    {http}
"#,
        https = probe("HTTPS"),
        http = probe("HTTP")
    ));
    let ready = |pod: &str| cluster.pod_field(pod, ".status.containerStatuses[0].ready");
    cluster.eventually(60, "the HTTPS probe to pass", || ready("tls") == "true");
    // Plain HTTP to the TLS port gets no HTTP answer: never ready.
    cluster.eventually(20, "the plain pod Running", || {
        cluster.pod_field("plain", ".status.phase") == "Running"
    });
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(ready("plain"), "false");
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn lifecycle_hooks_run_after_start_and_before_stop() {
    let cluster = SingleNode::start();
    let out = out_dir(&cluster);
    cluster.apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: hooked}}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: main
    image: busybox
    # httpd runs CGI scripts: the preStop GET writes where the test reads.
    command: ["sh", "-c", "mkdir -p /www/cgi-bin && printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho stopping > /out/prestop\\n' > /www/cgi-bin/stop && chmod +x /www/cgi-bin/stop && trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"]
    ports: [{{name: web, containerPort: 8080}}]
    volumeMounts: [{{name: out, mountPath: /out}}]
    lifecycle:
      postStart: {{exec: {{command: ["sh", "-c", "echo started > /out/poststart"]}}}}
      preStop: {{httpGet: {{path: /cgi-bin/stop, port: web}}}}
  volumes:
  - {{name: out, hostPath: {{path: {out}}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: refused}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: busybox
    command: ["sleep", "1000"]
    lifecycle:
      postStart: {{exec: {{command: ["false"]}}}}
"#,
        out = out.display()
    ));
    cluster.eventually(60, "the postStart hook's file", || {
        read(&out, "poststart").trim() == "started"
    });
    cluster.eventually(60, "hooked Running", || {
        cluster.pod_field("hooked", ".status.phase") == "Running"
    });
    cluster.eventually(60, "the failed postStart hook kills its container", || {
        cluster
            .pod_field("refused", ".status.containerStatuses[0].restartCount")
            .parse::<u32>()
            .unwrap_or(0)
            >= 1
    });
    cluster.run(&["delete", "pod", "hooked", "--wait=true"]);
    assert_eq!(
        read(&out, "prestop").trim(),
        "stopping",
        "the preStop GET reached the container before it stopped"
    );
}

/// The pids of the processes named `name` in the cgroups of the pod with `uid`.
fn pod_processes(uid: &str, name: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
            comm.trim() == name && cgroup.contains(&format!("pod{uid}"))
        })
        .collect()
}

#[test]
fn a_never_pod_whose_sandbox_dies_is_not_run_again() {
    let cluster = SingleNode::start();
    let out = out_dir(&cluster);
    cluster.apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: once}}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "echo run >> /out/runs; sleep 1000"]
    volumeMounts: [{{name: out, mountPath: /out}}]
  volumes:
  - {{name: out, hostPath: {{path: {out}}}}}
"#,
        out = out.display()
    ));
    cluster.eventually(60, "once Running", || {
        cluster.pod_field("once", ".status.phase") == "Running"
    });
    let uid = cluster.pod_field("once", ".metadata.uid");
    let pauses = pod_processes(&uid, "pause");
    assert_eq!(pauses.len(), 1, "one sandbox process");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pauses[0]),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    cluster.eventually(60, "the pod Failed", || {
        cluster.pod_field("once", ".status.phase") == "Failed"
    });
    assert_eq!(read(&out, "runs"), "run\n", "the container ran once");
    assert!(
        pod_processes(&uid, "sleep").is_empty(),
        "its container was stopped"
    );
}
