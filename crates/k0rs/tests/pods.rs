//! Pods on real containers: `k0rs controller --single` with its containerd, runc and the CNI
//! bridge, judged with kubectl and with files the containers write into a hostPath volume: what a
//! container gets (an IP, environment, volumes, /etc/hosts, a memory limit, memory volumes), and
//! graceful deletion across a restart of k0rs. Restarts and probes: `pod_restarts.rs`.

mod harness;

use harness::single_node::{SingleNode, out_dir, read};

#[test]
fn busybox_runs_with_an_ip_env_volumes_and_hosts() {
    let cluster = SingleNode::start();
    cluster.run(&["run", "x", "--image=busybox", "--", "sleep", "1d"]);
    cluster.eventually(60, "pod x Running", || {
        cluster.pod_field("x", ".status.phase") == "Running"
    });
    let ip = cluster.pod_field("x", ".status.podIP");
    assert!(
        ip.starts_with("10.244."),
        "pod IP {ip:?} is from the node's pod CIDR"
    );
    assert_eq!(
        cluster.pod_field("x", ".status.hostIP"),
        harness::single_node::NODE_IP
    );
    assert_eq!(
        cluster.pod_field("x", ".status.containerStatuses[0].ready"),
        "true"
    );
    assert!(
        cluster
            .pod_field("x", ".status.containerStatuses[0].containerID")
            .starts_with("containerd://")
    );
    let ping = cluster.command("busybox", &["ping", "-c", "1", "-W", "2", &ip]);
    assert!(
        ping.status.success(),
        "the pod answers on its IP: {}",
        harness::stdout(&ping)
    );

    let out = out_dir(&cluster);
    cluster.run(&["create", "configmap", "cfg", "--from-literal=key=v1"]);
    cluster.apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: probe, labels: {{app: probe}}}}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "env > /out/env; ls /var/run/secrets/kubernetes.io/serviceaccount > /out/sa; cat /etc/hosts > /out/hosts; cat /etc/resolv.conf > /out/resolv; cat /info/labels > /out/labels; while true; do cat /cfg/key > /out/key.tmp; mv /out/key.tmp /out/key; sleep 0.5; done"]
    env:
    - {{name: FROM_CM, valueFrom: {{configMapKeyRef: {{name: cfg, key: key}}}}}}
    - {{name: MY_NAME, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}
    - {{name: COMBO, value: "$(MY_NAME)-x"}}
    volumeMounts:
    - {{name: cfg, mountPath: /cfg}}
    - {{name: out, mountPath: /out}}
    - {{name: info, mountPath: /info}}
  volumes:
  - {{name: cfg, configMap: {{name: cfg}}}}
  - {{name: out, hostPath: {{path: {out}}}}}
  - {{name: info, downwardAPI: {{items: [{{path: labels, fieldRef: {{fieldPath: metadata.labels}}}}]}}}}
"#,
        out = out.display()
    ));
    cluster.eventually(60, "the probe pod's findings", || {
        read(&out, "key").trim() == "v1"
    });
    let env = read(&out, "env");
    for line in [
        "FROM_CM=v1",
        "MY_NAME=probe",
        "COMBO=probe-x",
        "KUBERNETES_SERVICE_HOST=10.96.0.1",
        "KUBERNETES_SERVICE_PORT=443",
    ] {
        assert!(env.lines().any(|l| l == line), "{line} in\n{env}");
    }
    assert_eq!(
        read(&out, "sa").split_whitespace().collect::<Vec<_>>(),
        ["ca.crt", "namespace", "token"]
    );
    let probe_ip = cluster.pod_field("probe", ".status.podIP");
    assert!(
        read(&out, "hosts")
            .lines()
            .any(|l| l == format!("{probe_ip}\tprobe")),
        "{}",
        read(&out, "hosts")
    );
    let resolv = read(&out, "resolv");
    assert!(
        resolv.contains("nameserver 10.96.0.10")
            && resolv.contains("search default.svc.cluster.local svc.cluster.local cluster.local")
            && resolv.contains("ndots:5"),
        "{resolv}"
    );
    assert_eq!(read(&out, "labels").trim(), "app=\"probe\"");

    // A configMap update reaches the running pod (the kubelet refreshes content volumes).
    cluster.run(&[
        "patch",
        "configmap",
        "cfg",
        "-p",
        r#"{"data":{"key":"v2"}}"#,
    ]);
    cluster.eventually(40, "the configMap update inside the pod", || {
        read(&out, "key").trim() == "v2"
    });
}

#[test]
fn deletion_runs_pre_stop_and_a_restart_keeps_pods_running() {
    let mut cluster = SingleNode::start();
    let out = out_dir(&cluster);
    cluster.apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: graceful}}
spec:
  terminationGracePeriodSeconds: 20
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "trap 'echo term >> /out/events; exit 0' TERM; while true; do sleep 0.2; done"]
    lifecycle:
      preStop:
        exec: {{command: ["sh", "-c", "echo prestop >> /out/events"]}}
    volumeMounts: [{{name: out, mountPath: /out}}]
  volumes:
  - {{name: out, hostPath: {{path: {out}}}}}
"#,
        out = out.display()
    ));
    cluster.run(&[
        "create",
        "deployment",
        "web",
        "--image=busybox",
        "--replicas=3",
        "--",
        "sleep",
        "1d",
    ]);
    cluster.run(&["rollout", "status", "deployment/web", "--timeout=90s"]);
    cluster.eventually(60, "pod graceful Running", || {
        cluster.pod_field("graceful", ".status.phase") == "Running"
    });
    let before = cluster.pod_field("graceful", ".status.containerStatuses[0].containerID");
    // Scaling down on real containers: two pods are terminated, one keeps running.
    cluster.run(&["scale", "deployment", "web", "--replicas=1"]);
    cluster.eventually(60, "two pods terminating", || {
        let pods = cluster.json(&["get", "pods", "-l", "app=web"]);
        pods["items"].as_array().is_some_and(|p| {
            p.iter()
                .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
                .count()
                == 1
        })
    });

    // k0rs stops and starts again: the containers keep running and are adopted.
    cluster.stop();
    cluster.spawn();
    cluster.eventually(60, "the API after the restart", || {
        cluster.kubectl(&["get", "pods"]).status.success()
    });
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(
        cluster.pod_field("graceful", ".status.containerStatuses[0].containerID"),
        before
    );
    assert_eq!(
        cluster.pod_field("graceful", ".status.containerStatuses[0].restartCount"),
        "0"
    );
    cluster.run(&["rollout", "status", "deployment/web", "--timeout=60s"]);

    let started = std::time::Instant::now();
    cluster.run(&["delete", "pod", "graceful", "--timeout=60s"]);
    assert!(
        started.elapsed().as_secs() < 15,
        "a container that exits on SIGTERM does not wait out the grace period"
    );
    assert_eq!(
        read(&out, "events"),
        "prestop\nterm\n",
        "preStop runs before SIGTERM"
    );

    // Scaled to 0 right after the restart, the last pod goes too (busybox sleep ignores SIGTERM:
    // 30 s of grace).
    cluster.run(&["scale", "deployment", "web", "--replicas=0"]);
    cluster.eventually(90, "the deployment's pods gone", || {
        cluster.json(&["get", "pods", "-l", "app=web"])["items"]
            .as_array()
            .is_some_and(Vec::is_empty)
    });
}

#[test]
fn a_memory_hog_is_oom_killed_and_memory_volumes_are_sized_tmpfs() {
    let cluster = SingleNode::start();
    let out = out_dir(&cluster);
    cluster.apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: hog}}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox
    # tail keeps a line until its newline: /dev/zero has none, so it holds everything read.
    command: ["sh", "-c", "head -c 300m /dev/zero | tail"]
    resources: {{limits: {{memory: 32Mi}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: mem}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "grep ' /cache ' /proc/mounts > /out/mounts; df -k /cache > /out/df; dd if=/dev/zero of=/cache/f bs=1M count=16 2> /out/dd; sleep 1000"]
    volumeMounts:
    - {{name: cache, mountPath: /cache}}
    - {{name: out, mountPath: /out}}
  volumes:
  - name: cache
    emptyDir: {{medium: Memory, sizeLimit: 8Mi}}
  - name: out
    hostPath: {{path: {out}}}
"#,
        out = out.display()
    ));
    cluster.eventually(90, "the hog to be OOM-killed", || {
        cluster.pod_field("hog", ".status.phase") == "Failed"
    });
    let terminated = ".status.containerStatuses[0].state.terminated";
    assert_eq!(
        cluster.pod_field("hog", &format!("{terminated}.reason")),
        "OOMKilled"
    );
    assert_eq!(
        cluster.pod_field("hog", &format!("{terminated}.exitCode")),
        "137"
    );

    cluster.eventually(60, "the memory volume's findings", || {
        read(&out, "dd").contains("No space left")
    });
    assert!(
        read(&out, "mounts").starts_with("tmpfs /cache tmpfs"),
        "{}",
        read(&out, "mounts")
    );
    let total_kib = read(&out, "df")
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_default();
    assert_eq!(total_kib, "8192", "sizeLimit 8Mi: {}", read(&out, "df"));

    let kubelet_mounts = || {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .filter(|l| {
                l.contains(&*cluster.node.root.path().to_string_lossy())
                    && l.contains("/volumes/cache ")
            })
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(kubelet_mounts().len(), 1, "one tmpfs while the pod runs");
    cluster.run(&["delete", "pod", "mem", "--wait=true"]);
    assert_eq!(
        kubelet_mounts(),
        Vec::<String>::new(),
        "the tmpfs went with the pod"
    );
}
