//! `k0rs backup` and `k0rs restore` on a real cluster: a controller (also a worker) and a joined
//! worker, with namespaces, Secrets, a CRD and its objects, and RBAC. The backup is taken while
//! the controller runs and writes go on; then the controller is stopped, `k0rs reset` removes
//! everything, `k0rs restore` brings the data directory back and the controller starts on it: the
//! objects are there with their UIDs, the CA is the same, RBAC still decides, every write
//! acknowledged before the backup started is there, and the worker (never given a new token) runs
//! a new pod. The same on etcd, whose data is lost before the restore.

mod harness;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use harness::etcd::{self, Etcd};
use harness::single_node::SingleNode;
use harness::worker_node::{WorkerNode, token};
use harness::{path_str, stderr, stdout};

const CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.k0rs.io}
spec:
  group: example.k0rs.io
  names: {kind: Widget, plural: widgets}
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

const OBJECTS: &str = "apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-b}
---
apiVersion: v1
kind: Secret
metadata: {name: db-password, namespace: team-a}
stringData: {password: s3cr3t}
---
apiVersion: v1
kind: Secret
metadata: {name: api-key, namespace: team-b}
data: {key: c2VjcmV0}
---
apiVersion: example.k0rs.io/v1
kind: Widget
metadata: {name: gear, namespace: team-a}
spec: {teeth: 12}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: secret-reader, namespace: team-a}
rules:
- {apiGroups: [''], resources: [secrets], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-reads-secrets, namespace: team-a}
subjects: [{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: Role, name: secret-reader, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: widget-viewer}
rules:
- {apiGroups: [example.k0rs.io], resources: [widgets], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: devs-view-widgets}
subjects: [{kind: Group, name: devs, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: ClusterRole, name: widget-viewer, apiGroup: rbac.authorization.k8s.io}
";

/// (resource, namespace, name) of every object the test checks.
const CHECKED: [(&str, &str, &str); 10] = [
    ("namespace", "", "team-a"),
    ("namespace", "", "team-b"),
    ("secret", "team-a", "db-password"),
    ("secret", "team-b", "api-key"),
    ("crd", "", "widgets.example.k0rs.io"),
    ("widgets.example.k0rs.io", "team-a", "gear"),
    ("role", "team-a", "secret-reader"),
    ("rolebinding", "team-a", "alice-reads-secrets"),
    ("clusterrole", "", "widget-viewer"),
    ("clusterrolebinding", "", "devs-view-widgets"),
];

fn uids(cluster: &SingleNode) -> BTreeMap<String, String> {
    CHECKED
        .iter()
        .map(|(resource, namespace, name)| {
            let mut args = vec!["get", resource, name, "-o", "jsonpath={.metadata.uid}"];
            if !namespace.is_empty() {
                args.extend(["-n", namespace]);
            }
            (format!("{resource}/{namespace}/{name}"), cluster.run(&args))
        })
        .collect()
}

fn can_i(cluster: &SingleNode, args: &[&str]) -> String {
    stdout(&cluster.kubectl(&[&["auth", "can-i"], args].concat()))
        .trim()
        .to_owned()
}

/// Every node Ready, and the worker's Ready condition refreshed after `since` (RFC 3339): its
/// kubelet talks to the restored controller.
fn nodes_ready(cluster: &SingleNode, worker: &str, since: &str) -> bool {
    let ready = stdout(&cluster.kubectl(&[
        "get",
        "nodes",
        "-o",
        "jsonpath={.items[*].status.conditions[?(@.type==\"Ready\")].status}",
    ]));
    let heartbeat = cluster.field_of(
        "node",
        worker,
        ".status.conditions[?(@.type==\"Ready\")].lastHeartbeatTime",
    );
    ready.split_whitespace().filter(|s| *s == "True").count() == 2 && heartbeat.as_str() > since
}

fn now_rfc3339() -> String {
    stdout(&harness::tool("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]))
        .trim()
        .to_owned()
}

#[test]
fn backup_reset_restore_on_the_embedded_store() {
    backup_reset_restore(false);
}

#[test]
fn backup_reset_restore_on_etcd() {
    backup_reset_restore(true);
}

fn backup_reset_restore(on_etcd: bool) {
    // The etcd outlives the cluster, which needs it to stop (locals drop in reverse order).
    let (mut etcd, mut cluster) = start_cluster(on_etcd);
    let mut worker = WorkerNode::join(&cluster.lan, "node-b", &token(&cluster, &[]));
    worker.wait_ready(&cluster);
    cluster.apply(CRD);
    cluster.run(&[
        "wait",
        "--for=condition=Established",
        "crd/widgets.example.k0rs.io",
    ]);
    cluster.apply(OBJECTS);
    let before = uids(&cluster);
    let ca = std::fs::read(cluster.node.pki("ca.crt")).unwrap();

    let (archive, acknowledged_before) = backup_during_writes(&cluster, on_etcd);

    // The controller stopped and everything removed.
    cluster.stop();
    let reset = cluster.k0rs(&["reset"]);
    assert!(reset.status.success(), "reset: {}", stderr(&reset));
    assert!(!cluster.node.data_dir().exists());
    if let Some(etcd) = etcd.as_mut() {
        // The etcd is lost too.
        etcd.wipe_and_restart();
    }

    let restored_config = cluster.node.root.path().join("restored.yaml");
    let restore = cluster.k0rs(&[
        "restore",
        path_str(&archive),
        "--config-out",
        path_str(&restored_config),
    ]);
    assert!(restore.status.success(), "restore: {}", stderr(&restore));
    assert_eq!(
        std::fs::read_to_string(&restored_config).unwrap(),
        std::fs::read_to_string(&cluster.config).unwrap()
    );
    cluster.config = restored_config;
    let restarted = now_rfc3339();
    cluster.spawn();
    if on_etcd {
        // The etcd's revisions started anew: a kubelet that kept running holds resourceVersions
        // the new etcd has not reached, and its watches wait for them (without this restart the
        // new pod stays Pending), so the worker is restarted, as `k0rs restore` advises. Its
        // token file is not used again: it has its node certificate.
        worker.restart();
    }
    cluster.eventually(
        120,
        "both nodes Ready, the worker's heartbeat after the restore",
        || nodes_ready(&cluster, &worker.name, &restarted),
    );

    assert_eq!(uids(&cluster), before, "objects lost or recreated");
    assert_eq!(
        std::fs::read(cluster.node.pki("ca.crt")).unwrap(),
        ca,
        "the CA changed"
    );
    check_contents(&cluster, &acknowledged_before);
    run_pod_on_worker(&cluster);
    drop(worker);
    drop(cluster);
}

/// A controller that is a worker too (`--enable-worker --no-taints`), on an etcd of its own in
/// its namespace when `on_etcd`.
fn start_cluster(on_etcd: bool) -> (Option<Etcd>, SingleNode) {
    let storage = format!(
        "  storage:\n    type: etcd\n    etcd:\n      externalCluster:\n        endpoints: [\"{}\"]\n        etcdPrefix: k0rs-backup-test\n",
        etcd::URL
    );
    let mut cluster = SingleNode::prepare(
        if on_etcd { &storage } else { "" },
        &["--enable-worker", "--no-taints"],
    );
    let etcd = on_etcd.then(|| Etcd::start(&cluster.net, cluster.node.root.path().join("etcd")));
    cluster.spawn();
    cluster.wait_node_ready();
    (etcd, cluster)
}

/// `k0rs backup` while a writer creates ConfigMaps: the archive, and the ConfigMaps whose creation
/// was acknowledged before the backup started.
fn backup_during_writes(cluster: &SingleNode, on_etcd: bool) -> (PathBuf, Vec<String>) {
    let save = cluster.node.root.path().join("backups");
    std::fs::create_dir(&save).unwrap();
    let acknowledged = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    let (backup, acknowledged_before) = std::thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let name = format!("w-{i}");
                if cluster
                    .kubectl(&["create", "configmap", &name])
                    .status
                    .success()
                {
                    acknowledged.lock().unwrap().push(name);
                }
            }
        });
        std::thread::sleep(std::time::Duration::from_secs(2));
        let acknowledged_before = acknowledged.lock().unwrap().clone();
        let config = path_str(&cluster.config).to_owned();
        let backup = cluster.k0rs(&[
            "backup",
            "--save-path",
            path_str(&save),
            "--config",
            &config,
        ]);
        std::thread::sleep(std::time::Duration::from_secs(1));
        stop.store(true, Ordering::SeqCst);
        (backup, acknowledged_before)
    });
    assert!(backup.status.success(), "backup: {}", stderr(&backup));
    assert!(
        !acknowledged_before.is_empty(),
        "no write before the backup"
    );
    assert!(
        acknowledged.lock().unwrap().len() > acknowledged_before.len(),
        "no write went on during the backup"
    );
    let log = stderr(&backup);
    assert!(log.contains("created successfully"), "{log}");
    let source = if on_etcd {
        "etcd at"
    } else {
        "from the running controller"
    };
    assert!(log.contains(source), "{log}");
    let archive = only_file(&save);
    let name = archive.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("k0rs_backup_") && name.ends_with("Z.tar.gz"),
        "{name}"
    );
    (archive, acknowledged_before)
}

/// Secrets, the custom object, RBAC's decisions and the ConfigMaps written before the backup.
fn check_contents(cluster: &SingleNode, acknowledged_before: &[String]) {
    let password = cluster.run(&[
        "get",
        "secret",
        "db-password",
        "-n",
        "team-a",
        "-o",
        "jsonpath={.data.password}",
    ]);
    assert_eq!(password, "czNjcjN0");
    let teeth = cluster.run(&[
        "get",
        "widget",
        "gear",
        "-n",
        "team-a",
        "-o",
        "jsonpath={.spec.teeth}",
    ]);
    assert_eq!(teeth, "12");
    assert_eq!(
        can_i(
            cluster,
            &["get", "secrets", "-n", "team-a", "--as", "alice"]
        ),
        "yes"
    );
    assert_eq!(
        can_i(
            cluster,
            &["get", "secrets", "-n", "team-b", "--as", "alice"]
        ),
        "no"
    );
    let widgets = [
        "list",
        "widgets.example.k0rs.io",
        "-n",
        "team-a",
        "--as",
        "bob",
    ];
    assert_eq!(
        can_i(cluster, &[&widgets[..], &["--as-group", "devs"]].concat()),
        "yes"
    );
    let configmaps = cluster.run(&["get", "configmaps", "-o", "name"]);
    for name in acknowledged_before {
        assert!(
            configmaps.contains(&format!("configmap/{name}\n")),
            "{name}, acknowledged before the backup started, is missing"
        );
    }
}

/// The worker runs a new pod: its kubelet follows the restored store.
fn run_pod_on_worker(cluster: &SingleNode) {
    cluster.run(&[
        "run",
        "after-restore",
        "--image=busybox",
        "--overrides",
        r#"{"spec":{"nodeName":"node-b"}}"#,
        "--",
        "sleep",
        "1d",
    ]);
    cluster.eventually(90, "a new pod running on the worker", || {
        cluster.pod_field("after-restore", ".status.phase") == "Running"
    });
    cluster.run(&["delete", "pod", "after-restore", "--grace-period=1"]);
}

fn only_file(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.into_iter().next().unwrap()
}
