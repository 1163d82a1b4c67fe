//! Restarting containers on real containers (`k0rs controller --single`): restart policies, init
//! containers in order, crash back-off and the kubelet's events counting its repeats, liveness
//! probes that restart and readiness probes that flip Ready, judged with kubectl and with files the
//! containers write into a hostPath volume.

mod harness;

use harness::single_node::{SingleNode, out_dir, read};

/// Three pods: init containers that record their order, one that fails for good, one that keeps
/// failing under OnFailure.
fn restart_pods(out: &std::path::Path) -> String {
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: ordered}}
spec:
  restartPolicy: Never
  initContainers:
  - {{name: one, image: busybox, command: ["sh", "-c", "echo -n 1 >> /out/order"], volumeMounts: [{{name: out, mountPath: /out}}]}}
  - {{name: two, image: busybox, command: ["sh", "-c", "echo -n 2 >> /out/order"], volumeMounts: [{{name: out, mountPath: /out}}]}}
  containers:
  - {{name: main, image: busybox, command: ["sh", "-c", "echo -n m >> /out/order"], volumeMounts: [{{name: out, mountPath: /out}}]}}
  volumes:
  - {{name: out, hostPath: {{path: {out}}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: failing}}
spec:
  restartPolicy: Never
  containers:
  - {{name: main, image: busybox, command: ["sh", "-c", "exit 3"]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: crashing}}
spec:
  restartPolicy: OnFailure
  containers:
  - {{name: main, image: busybox, command: ["sh", "-c", "exit 1"]}}
"#,
        out = out.display()
    )
}

#[test]
fn restart_policies_init_order_and_back_off() {
    let cluster = SingleNode::start();
    let out = out_dir(&cluster);
    cluster.apply(&restart_pods(&out));
    cluster.eventually(60, "pod ordered Succeeded", || {
        cluster.pod_field("ordered", ".status.phase") == "Succeeded"
    });
    assert_eq!(
        read(&out, "order"),
        "12m",
        "init containers run in order, then the container"
    );
    assert_eq!(
        cluster.pod_field(
            "ordered",
            ".status.containerStatuses[0].state.terminated.reason"
        ),
        "Completed"
    );
    assert_eq!(
        cluster.pod_field(
            "ordered",
            ".status.initContainerStatuses[1].state.terminated.exitCode"
        ),
        "0"
    );

    cluster.eventually(60, "pod failing Failed", || {
        cluster.pod_field("failing", ".status.phase") == "Failed"
    });
    assert_eq!(
        cluster.pod_field(
            "failing",
            ".status.containerStatuses[0].state.terminated.exitCode"
        ),
        "3"
    );
    assert_eq!(
        cluster.pod_field(
            "failing",
            ".status.containerStatuses[0].state.terminated.reason"
        ),
        "Error"
    );
    assert_eq!(
        cluster.pod_field("failing", ".status.containerStatuses[0].restartCount"),
        "0"
    );

    // OnFailure restarts a failing container, then backs off (10 s after the second failure).
    cluster.eventually(60, "pod crashing to back off", || {
        cluster.pod_field(
            "crashing",
            ".status.containerStatuses[0].state.waiting.reason",
        ) == "CrashLoopBackOff"
    });
    let restarts: u32 = cluster
        .pod_field("crashing", ".status.containerStatuses[0].restartCount")
        .parse()
        .unwrap();
    assert!(restarts >= 1, "restarted before backing off: {restarts}");
    // The kubelet's message names the whole back-off (10 s, doubling), not what is left of it.
    let message = cluster.pod_field(
        "crashing",
        ".status.containerStatuses[0].state.waiting.message",
    );
    let backoff = message
        .strip_prefix("back-off ")
        .and_then(|m| m.split_once("s restarting failed container=main pod=crashing_default("))
        .map(|(seconds, _)| seconds.to_owned());
    assert!(
        matches!(backoff.as_deref(), Some("10" | "20" | "40")),
        "{message}"
    );
    assert_eq!(
        cluster.pod_field(
            "crashing",
            ".status.containerStatuses[0].lastState.terminated.exitCode"
        ),
        "1"
    );
    assert_eq!(cluster.pod_field("crashing", ".status.phase"), "Running");
    cluster.eventually(40, "another restart after the back-off", || {
        cluster
            .pod_field("crashing", ".status.containerStatuses[0].restartCount")
            .parse::<u32>()
            .unwrap_or(0)
            > restarts
    });

    kubelet_events_count_repeats(&cluster);
}

/// The kubelet's events on pod `crashing`, as `kubectl describe pod` lists them: the image, each
/// start, and one BackOff event whose count rises with every back-off instead of one event per
/// back-off.
fn kubelet_events_count_repeats(cluster: &SingleNode) {
    let events = || {
        cluster.json(&[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=crashing",
            "-o",
            "json",
        ])["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let of = |events: &[serde_json::Value], reason: &str| -> Vec<serde_json::Value> {
        events
            .iter()
            .filter(|e| e["reason"] == reason && e["source"]["component"] == "kubelet")
            .cloned()
            .collect()
    };
    let now = events();
    let pulled = of(&now, "Pulled");
    assert!(!pulled.is_empty(), "no Pulled event: {now:#?}");
    assert_eq!(
        pulled[0]["message"],
        "Container image \"busybox\" already present on machine"
    );
    assert_eq!(
        pulled[0]["source"]["host"],
        cluster.pod_field("crashing", ".spec.nodeName").as_str()
    );
    let started = of(&now, "Started");
    assert_eq!(started.len(), 1, "one Started event, counted: {now:#?}");
    assert!(started[0]["count"].as_i64().unwrap() >= 2, "{started:#?}");
    assert_eq!(started[0]["message"], "Started container main");
    assert_eq!(started[0]["type"], "Normal");
    cluster.eventually(60, "a BackOff event counted twice", || {
        let backoffs = of(&events(), "BackOff");
        backoffs.len() == 1 && backoffs[0]["count"].as_i64().unwrap_or(0) >= 2
    });
    let backoff = &of(&events(), "BackOff")[0];
    assert_eq!(backoff["type"], "Warning");
    assert!(
        backoff["message"]
            .as_str()
            .unwrap()
            .starts_with("Back-off restarting failed container main in pod crashing_default("),
        "{backoff:#?}"
    );
}

#[test]
fn liveness_restarts_and_readiness_flips_ready() {
    let cluster = SingleNode::start();
    cluster.apply(
        r#"
apiVersion: v1
kind: Pod
metadata: {name: live}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 1000"]
    livenessProbe:
      exec: {command: ["cat", "/tmp/healthy"]}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Pod
metadata: {name: ready}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "mkdir -p /www; exec httpd -f -p 8080 -h /www"]
    readinessProbe:
      httpGet: {path: /ready, port: 8080}
      periodSeconds: 1
    startupProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 1
"#,
    );
    cluster.eventually(60, "the liveness probe to restart the container", || {
        cluster
            .pod_field("live", ".status.containerStatuses[0].restartCount")
            .parse::<u32>()
            .unwrap_or(0)
            >= 1
    });
    assert!(
        !cluster
            .pod_field(
                "live",
                ".status.containerStatuses[0].lastState.terminated.finishedAt"
            )
            .is_empty()
    );

    cluster.eventually(60, "pod ready Running and started", || {
        cluster.pod_field("ready", ".status.containerStatuses[0].started") == "true"
    });
    let ready = || cluster.pod_field("ready", ".status.conditions[?(@.type==\"Ready\")].status");
    assert_eq!(ready(), "False", "no /ready page yet");
    assert_eq!(
        cluster.pod_field("ready", ".status.containerStatuses[0].ready"),
        "false"
    );
    cluster.run(&["exec", "ready", "--", "touch", "/www/ready"]);
    cluster.eventually(20, "Ready once the page exists", || ready() == "True");
    cluster.run(&["exec", "ready", "--", "rm", "/www/ready"]);
    cluster.eventually(20, "not Ready once the page is gone", || ready() == "False");
    assert_eq!(
        cluster.pod_field("ready", ".status.containerStatuses[0].restartCount"),
        "0",
        "readiness never restarts"
    );
}
