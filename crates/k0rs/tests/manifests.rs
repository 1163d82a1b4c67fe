//! The manifest deployer through the real binary, judged by kubectl: a stack under
//! `<data-dir>/manifests/<stack>/` (a Namespace, a CRD and an object of it, a Deployment and a
//! ConfigMap, over several files and documents) is applied with k0s's label and checksum
//! annotation; an edit is applied within seconds, an object taken out of its file is pruned, a
//! broken file is reported in the log and as a Warning event while the rest still applies (and
//! nothing of its stack is pruned meanwhile), and removing the stack's directory removes its
//! objects. `--disable-components applier-manager` switches it off.

mod harness;

use std::path::Path;

use harness::cluster::{eventually, json_of, run};
use harness::controller::{Backend, Controller, kubectl};

const STACK_LABEL: &str = "k0s.k0sproject.io/stack";
const CHECKSUM: &str = "k0s.k0sproject.io/stack-checksum";

const NAMESPACE: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n";

/// Named to sort before the CRD's file: the applier must order them itself.
const WIDGET: &str = "apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
  namespace: demo
spec:
  size: 3
";

const CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
";

fn workload(replicas: u32, with_config_map: bool) -> String {
    let mut text = format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: docker.io/library/busybox:latest
        command: [sleep, 1d]
"
    );
    if with_config_map {
        text.push_str("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: demo\ndata:\n  colour: blue\n");
    }
    text
}

fn write(path: &Path, text: &str) {
    // Written aside and renamed, as editors and config tools do: the applier never reads half
    // a file.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn exists(admin: &Path, args: &[&str]) -> bool {
    kubectl(admin, &[&["get"], args].concat()).status.success()
}

fn field(admin: &Path, args: &[&str], path: &str) -> String {
    let out = kubectl(
        admin,
        &[&["get"], args, &["-o", &format!("jsonpath={path}")]].concat(),
    );
    harness::stdout(&out)
}

/// The Warning events of the applier in kube-system, as `reason: message` lines.
fn applier_warnings(admin: &Path) -> String {
    let events = json_of(admin, &["get", "events", "-n", "kube-system"]);
    events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "Warning" && e["source"]["component"] == "applier-manager")
        .map(|e| format!("{}: {}", e["reason"], e["message"]))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_stack_is_applied_kept_in_step_with_its_files_and_pruned() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let manifests = controller.node.data_dir().join("manifests");
    let stack = manifests.join("demo");
    std::fs::create_dir_all(&stack).unwrap();
    write(&stack.join("00-namespace.yaml"), NAMESPACE);
    write(&stack.join("10-widget.yml"), WIDGET);
    write(&stack.join("20-crd.yaml"), CRD);
    write(&stack.join("30-workload.yaml"), &workload(1, true));

    applied(&admin);
    edited_and_pruned(&admin, &stack);
    broken_file(&controller, &stack);

    // A stack whose name cannot be a label value is reported and not applied.
    let bad = manifests.join("bad stack");
    std::fs::create_dir_all(&bad).unwrap();
    write(
        &bad.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-bad-stack}\n",
    );
    eventually(15, "the bad stack name reported", || {
        applier_warnings(&admin)
            .contains("stack bad stack: the directory's name cannot be a label value")
    });
    assert!(!exists(&admin, &["configmap", "from-bad-stack"]));

    // Removing the stack's directory removes its objects.
    std::fs::remove_dir_all(&stack).unwrap();
    eventually(60, "the stack pruned", || {
        !exists(&admin, &["namespace", "demo"]) && !exists(&admin, &["crd", "widgets.example.com"])
    });
    run(&admin, &["get", "namespace", "default"]);
}

/// The stack is applied, CRD before its object, each labelled and annotated, by the applier's
/// field manager, by the leader of its Lease.
fn applied(admin: &Path) {
    eventually(30, "the stack applied", || {
        exists(admin, &["-n", "demo", "widget", "w1"])
            && exists(admin, &["-n", "demo", "configmap", "settings"])
            && exists(admin, &["-n", "demo", "deployment", "web"])
    });
    for object in [
        &["namespace", "demo"][..],
        &["crd", "widgets.example.com"],
        &["-n", "demo", "widget", "w1"],
        &["-n", "demo", "deployment", "web"],
        &["-n", "demo", "configmap", "settings"],
    ] {
        let json = json_of(admin, &[&["get"], object].concat());
        assert_eq!(
            json["metadata"]["labels"][STACK_LABEL], "demo",
            "{object:?}"
        );
        assert_eq!(
            json["metadata"]["annotations"][CHECKSUM]
                .as_str()
                .map(str::len),
            Some(64),
            "{object:?}"
        );
    }
    let deployment = json_of(
        admin,
        &[
            "get",
            "-n",
            "demo",
            "deployment",
            "web",
            "--show-managed-fields",
        ],
    );
    let managers: Vec<&str> = deployment["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["operation"] == "Apply")
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(managers, ["k0rs-applier"], "{deployment}");
    let holder = field(
        admin,
        &["-n", "kube-system", "lease", "k0s-manifest-applier"],
        "{.spec.holderIdentity}",
    );
    assert!(!holder.is_empty(), "the applier leads on its Lease");
}

/// An edit is applied within seconds to the same object; an object taken out of its file is
/// pruned, and what the Deployment's controller made from it is not.
fn edited_and_pruned(admin: &Path, stack: &Path) {
    let before = json_of(admin, &["get", "-n", "demo", "deployment", "web"]);
    eventually(30, "the Deployment's ReplicaSet", || {
        !replica_sets(admin).is_empty()
    });
    write(&stack.join("30-workload.yaml"), &workload(2, true));
    eventually(15, "the edit applied", || {
        field(
            admin,
            &["-n", "demo", "deployment", "web"],
            "{.spec.replicas}",
        ) == "2"
    });
    let after = json_of(admin, &["get", "-n", "demo", "deployment", "web"]);
    assert_eq!(after["metadata"]["uid"], before["metadata"]["uid"]);
    assert_ne!(
        after["metadata"]["annotations"][CHECKSUM],
        before["metadata"]["annotations"][CHECKSUM]
    );

    write(&stack.join("30-workload.yaml"), &workload(2, false));
    eventually(15, "the ConfigMap pruned", || {
        !exists(admin, &["-n", "demo", "configmap", "settings"])
    });
    assert!(exists(admin, &["-n", "demo", "deployment", "web"]));
    assert!(
        !replica_sets(admin).is_empty(),
        "the Deployment's ReplicaSet was pruned"
    );
}

fn replica_sets(admin: &Path) -> String {
    field(
        admin,
        &["-n", "demo", "rs", "-l", "app=web"],
        "{.items[*].metadata.name}",
    )
}

/// A broken file is reported in the log and as a Warning event; the other files still apply,
/// and nothing of the stack is pruned until it is fixed.
fn broken_file(controller: &Controller, stack: &Path) {
    let admin = controller.admin();
    write(
        &stack.join("40-broken.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [oops\n",
    );
    write(
        &stack.join("50-later.json"),
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"later","namespace":"demo"}}"#,
    );
    std::fs::remove_file(stack.join("10-widget.yml")).unwrap();
    eventually(15, "the rest of the stack applied", || {
        exists(&admin, &["-n", "demo", "configmap", "later"])
    });
    eventually(15, "the broken file reported", || {
        let warnings = applier_warnings(&admin);
        warnings.contains("InvalidManifest")
            && warnings.contains("stack demo: 40-broken.yaml: document 1: not YAML or JSON")
    });
    let log = std::fs::read_to_string(&controller.log).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("broken manifest") && l.contains("40-broken.yaml")),
        "{log}"
    );
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(
        exists(&admin, &["-n", "demo", "widget", "w1"]),
        "pruned while a file of its stack is broken"
    );
    std::fs::remove_file(stack.join("40-broken.yaml")).unwrap();
    eventually(15, "the Widget pruned once the stack is whole", || {
        !exists(&admin, &["-n", "demo", "widget", "w1"])
    });
}

#[test]
fn disabling_the_applier_manager_applies_nothing() {
    let controller = Controller::start_with(
        Backend::Embedded,
        "",
        &["--disable-components=applier-manager,kube-scheduler"],
    );
    let admin = controller.admin();
    let stack = controller.node.data_dir().join("manifests").join("off");
    std::fs::create_dir_all(&stack).unwrap();
    write(
        &stack.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: not-applied}\n",
    );
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert!(!exists(&admin, &["configmap", "not-applied"]));
    assert!(!exists(
        &admin,
        &["-n", "kube-system", "lease", "k0s-manifest-applier"]
    ));
}
