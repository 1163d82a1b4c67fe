//! Field selectors through kubectl, as kube-apiserver 1.28 answers them: each kind's fields with
//! `=`, `==` and `!=`, an unset field holding its Go zero value (`spec.unschedulable==false`
//! selects a node that never was cordoned, as cordon tooling expects), and events.k8s.io's own
//! names for an Event's fields. (Issue 27.)

mod harness;

use std::path::Path;

use harness::cluster::{create, run};
use harness::controller::{Controller, kubectl};
use harness::stderr;
use serde_json::json;

/// The names `kubectl get <what> --field-selector <selector>` lists, sorted.
fn selected(admin: &Path, what: &str, selector: &str) -> Vec<String> {
    let out = run(
        admin,
        &[
            "get",
            what,
            "-A",
            "--field-selector",
            selector,
            "-o",
            "name",
        ],
    );
    let mut names: Vec<String> = out.lines().map(str::to_owned).collect();
    names.sort();
    names
}

#[test]
fn field_selectors_match_as_kube_apiserver_formats_each_field() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let node = |name: &str, spec| {
        json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name}, "spec": spec})
    };
    create(&controller, &node("open", json!({})));
    create(
        &controller,
        &node("cordoned", json!({"unschedulable": true})),
    );
    for (selector, expected) in [
        ("spec.unschedulable==false", vec!["node/open"]),
        ("spec.unschedulable=false", vec!["node/open"]),
        ("spec.unschedulable!=false", vec!["node/cordoned"]),
        (
            "spec.unschedulable=true,metadata.name=cordoned",
            vec!["node/cordoned"],
        ),
    ] {
        assert_eq!(selected(&admin, "nodes", selector), expected, "{selector}");
    }

    // The nodes are not ready: the pods stay pending, with no node and no IP.
    let pod = |name: &str, host_network: bool| {
        json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"hostNetwork": host_network, "containers": [{"name": "c", "image": "busybox:1.36"}]}})
    };
    let mut plain = pod("plain", false);
    plain["spec"].as_object_mut().unwrap().remove("hostNetwork");
    create(&controller, &plain);
    create(&controller, &pod("host", true));
    for (selector, expected) in [
        ("spec.hostNetwork=false", vec!["pod/plain"]),
        ("spec.hostNetwork!=false", vec!["pod/host"]),
        (
            "spec.nodeName=,status.podIP=",
            vec!["pod/host", "pod/plain"],
        ),
        (
            "spec.restartPolicy=Always,status.phase=Pending",
            vec!["pod/host", "pod/plain"],
        ),
    ] {
        assert_eq!(selected(&admin, "pods", selector), expected, "{selector}");
    }

    // Counts that were never written are 0; a Job's selector name is not its field's.
    create(
        &controller,
        &json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "waiting", "namespace": "default"},
            "spec": {"suspend": true, "template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "c", "image": "busybox:1.36"}]}}}}),
    );
    assert_eq!(
        selected(&admin, "jobs", "status.successful=0"),
        ["job.batch/waiting"]
    );
    assert!(selected(&admin, "jobs", "status.successful!=0").is_empty());
    assert_eq!(
        selected(&admin, "namespaces", "name=default,status.phase=Active"),
        ["namespace/default"]
    );

    // An Event written through events.k8s.io: its source is its reporting controller.
    create(
        &controller,
        &json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "plain.1", "namespace": "default"},
            "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "test/ctl",
            "reportingInstance": "test", "action": "Test", "reason": "Tested", "type": "Normal",
            "regarding": {"kind": "Pod", "namespace": "default", "name": "plain"}}),
    );
    assert_eq!(
        selected(&admin, "events", "source=test/ctl,involvedObject.kind=Pod"),
        ["event/plain.1"]
    );
    assert_eq!(
        selected(
            &admin,
            "events.v1.events.k8s.io",
            "regarding.name=plain,reportingController=test/ctl"
        ),
        ["event.events.k8s.io/plain.1"]
    );

    let out = kubectl(
        &admin,
        &["get", "nodes", "--field-selector", "spec.taints=x"],
    );
    assert!(
        stderr(&out).contains("field label not supported: spec.taints"),
        "{}",
        stderr(&out)
    );
}
