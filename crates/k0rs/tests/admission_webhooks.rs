//! Admission webhooks against `k0rs controller --single`, driven with the host's kubectl: a
//! webhook server of the test's own (HTTPS, `harness::webhook_server`) reached by URL and through
//! a Service without selector whose Endpoints point at it. Validating webhooks deny creates,
//! updates and deletes with kube-apiserver's texts and see what Kubernetes sends them; mutating
//! webhooks patch objects; selectors skip; failure policies decide what an unreachable webhook
//! does; a server-side apply through a mutating webhook is idempotent.

mod harness;

use std::path::{Path, PathBuf};

use harness::controller::{Controller, kubectl, kubectl_ok};
use harness::webhook_server::{self, WebhookServer, configuration};
use harness::{free_port, path_str, stderr, stdout};
use serde_json::{Value, json};

/// Writes `object` to `<name>.json` in the controller's directory.
fn file(controller: &Controller, name: &str, object: &Value) -> PathBuf {
    let path = controller.node.root.path().join(format!("{name}.json"));
    std::fs::write(&path, object.to_string()).unwrap();
    path
}

fn configmap(name: &str, namespace: &str, labels: &Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "namespace": namespace, "labels": labels},
           "data": {"a": "b"}})
}

fn by_url(server: &WebhookServer, path: &str) -> Value {
    json!({"url": format!("https://127.0.0.1:{}{path}", server.port), "caBundle": server.ca_bundle()})
}

fn create(controller: &Controller, admin: &Path, name: &str, object: &Value) {
    let out = controller.create_json(admin, name, object);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// The last review at `path` of the object `name` (controllers write objects of their own
/// meanwhile).
fn last_review(server: &WebhookServer, path: &str, name: &str) -> Value {
    server
        .reviews_at(path)
        .into_iter()
        .rev()
        .find(|r| r["request"]["name"] == name)
        .unwrap_or_else(|| panic!("no review of {name} at {path}"))
}

#[test]
#[allow(clippy::too_many_lines)] // one webhook, seen request after request
fn a_validating_webhook_by_url_denies_and_sees_what_kubernetes_sends() {
    let controller = Controller::start();
    let admin = controller.admin();
    let server = webhook_server::start(controller.node.root.path());
    let config = configuration(
        "Validating",
        "deny",
        &[("deny.k0rs.io", by_url(&server, "/validate"), json!({}))],
    );
    create(&controller, &admin, "deny", &config);

    // A denied create: kubectl fails with kube-apiserver's text.
    let denied = file(
        &controller,
        "denied",
        &configmap("denied-one", "default", &json!({})),
    );
    let out = kubectl(&admin, &["create", "-f", path_str(&denied)]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "Error from server (Forbidden): error when creating \"{}\": admission webhook \"deny.k0rs.io\" denied the request: denied-one is not welcome here\n",
            path_str(&denied)
        )
    );
    let out = kubectl(&admin, &["get", "configmap", "denied-one"]);
    assert!(!out.status.success(), "a denied object was stored");

    // An allowed create: the review carries the request, the warning reaches kubectl.
    let out = kubectl(
        &admin,
        &["create", "configmap", "allowed", "--from-literal=a=b"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Warning: allowed was checked by the test webhook"),
        "{}",
        stderr(&out)
    );
    let review = last_review(&server, "/validate", "allowed");
    assert_eq!(review["apiVersion"], "admission.k8s.io/v1");
    let request = &review["request"];
    assert_eq!(request["operation"], "CREATE");
    assert_eq!(request["userInfo"]["username"], "kubernetes-admin");
    assert!(
        request["userInfo"]["groups"]
            .as_array()
            .unwrap()
            .contains(&json!("system:masters"))
    );
    assert_eq!(
        request["kind"],
        json!({"group": "", "version": "v1", "kind": "ConfigMap"})
    );
    assert_eq!(
        request["resource"],
        json!({"group": "", "version": "v1", "resource": "configmaps"})
    );
    assert_eq!(request["namespace"], "default");
    assert_eq!(request["name"], "allowed");
    assert_eq!(request["object"]["data"]["a"], "b");
    assert_eq!(request["oldObject"], Value::Null);
    assert_eq!(request["dryRun"], false);
    assert_eq!(request["options"]["kind"], "CreateOptions");
    assert!(request["uid"].as_str().is_some_and(|u| !u.is_empty()));

    // An update (kubectl label patches): the old object comes along.
    kubectl_ok(&admin, &["label", "configmap", "allowed", "tier=web"]);
    let request = last_review(&server, "/validate", "allowed")["request"].clone();
    assert_eq!(request["operation"], "UPDATE");
    assert_eq!(request["options"]["kind"], "UpdateOptions");
    assert_eq!(request["object"]["metadata"]["labels"]["tier"], "web");
    assert_eq!(request["oldObject"]["metadata"]["name"], "allowed");
    assert_eq!(
        request["oldObject"]["metadata"]["labels"]["tier"],
        Value::Null
    );

    // A dry run reaches a webhook without side effects, marked as such, and stores nothing.
    kubectl_ok(&admin, &["create", "configmap", "dry", "--dry-run=server"]);
    let request = last_review(&server, "/validate", "dry")["request"].clone();
    assert_eq!(request["dryRun"], true);
    assert_eq!(request["options"]["dryRun"], json!(["All"]));
    assert!(
        !kubectl(&admin, &["get", "configmap", "dry"])
            .status
            .success()
    );

    // Deletes pass validating webhooks with the object as the old object.
    kubectl_ok(&admin, &["create", "configmap", "keep"]);
    kubectl_ok(&admin, &["label", "configmap", "keep", "protected=true"]);
    let out = kubectl(&admin, &["delete", "configmap", "keep"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "Error from server (Forbidden): admission webhook \"deny.k0rs.io\" denied the request: keep is protected\n"
    );
    let request = last_review(&server, "/validate", "keep")["request"].clone();
    assert_eq!(request["operation"], "DELETE");
    assert_eq!(request["options"]["kind"], "DeleteOptions");
    assert_eq!(request["object"], Value::Null);
    assert_eq!(request["oldObject"]["metadata"]["name"], "keep");
    kubectl_ok(&admin, &["delete", "configmap", "allowed"]);

    // The configuration itself is no subject of webhooks: it can always be removed.
    kubectl_ok(
        &admin,
        &["delete", "validatingwebhookconfiguration", "deny"],
    );
    kubectl_ok(&admin, &["create", "-f", path_str(&denied)]);
}

#[test]
#[allow(clippy::too_many_lines)] // one cluster, configurations tried one after another
fn selectors_skip_and_failure_policies_decide() {
    let controller = Controller::start();
    let admin = controller.admin();
    let server = webhook_server::start(controller.node.root.path());
    let selective = json!({
        "namespaceSelector": {"matchLabels": {"webhooks": "on"}},
        "objectSelector": {"matchExpressions": [{"key": "skip", "operator": "DoesNotExist"}]},
    });
    let config = configuration(
        "Validating",
        "selective",
        &[("selective.k0rs.io", by_url(&server, "/validate"), selective)],
    );
    create(&controller, &admin, "selective", &config);
    // Defaults are filled in as Kubernetes does.
    let stored: Value = serde_json::from_str(&kubectl_ok(
        &admin,
        &[
            "get",
            "validatingwebhookconfiguration",
            "selective",
            "-o",
            "json",
        ],
    ))
    .unwrap();
    let hook = &stored["webhooks"][0];
    assert_eq!(
        (
            &hook["failurePolicy"],
            &hook["matchPolicy"],
            &hook["timeoutSeconds"]
        ),
        (&json!("Fail"), &json!("Equivalent"), &json!(10))
    );

    kubectl_ok(&admin, &["create", "namespace", "quiet"]);
    kubectl_ok(&admin, &["create", "namespace", "loud"]);
    kubectl_ok(&admin, &["label", "namespace", "loud", "webhooks=on"]);
    // Not selected: the namespace's labels do not match.
    create(
        &controller,
        &admin,
        "quiet",
        &configmap("denied-a", "quiet", &json!({})),
    );
    // Selected, and denied.
    let out = controller.create_json(&admin, "loud", &configmap("denied-a", "loud", &json!({})));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("admission webhook \"selective.k0rs.io\" denied the request: denied-a is not welcome here"),
        "{}",
        stderr(&out)
    );
    // Not selected: the object's labels do not match.
    create(
        &controller,
        &admin,
        "skipped",
        &configmap("denied-b", "loud", &json!({"skip": "1"})),
    );
    // The namespace's own labels select a Namespace.
    let seen_namespaces: Vec<String> = server
        .reviews_at("/validate")
        .iter()
        .filter(|r| r["request"]["resource"]["resource"] == "namespaces")
        .map(|r| r["request"]["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(!seen_namespaces.is_empty());
    assert!(
        seen_namespaces.iter().all(|n| n == "loud"),
        "{seen_namespaces:?}"
    );
    kubectl_ok(
        &admin,
        &["delete", "validatingwebhookconfiguration", "selective"],
    );

    // Nobody listens at the URL: Ignore lets the write through, Fail refuses it.
    let port = free_port();
    let down = json!({"url": format!("https://127.0.0.1:{port}/validate"), "caBundle": server.ca_bundle()});
    let ignore = configuration(
        "Validating",
        "down-ignore",
        &[(
            "ignore.k0rs.io",
            down.clone(),
            json!({"failurePolicy": "Ignore"}),
        )],
    );
    create(&controller, &admin, "down-ignore", &ignore);
    kubectl_ok(&admin, &["create", "configmap", "through"]);
    let fail = configuration(
        "Validating",
        "down-fail",
        &[("fail.k0rs.io", down, json!({}))],
    );
    create(&controller, &admin, "down-fail", &fail);
    let refused = file(
        &controller,
        "refused",
        &configmap("refused", "default", &json!({})),
    );
    let out = kubectl(&admin, &["create", "-f", path_str(&refused)]);
    assert_eq!(out.status.code(), Some(1));
    let expected = format!(
        "Error from server (InternalError): error when creating \"{}\": Internal error occurred: failed calling webhook \"fail.k0rs.io\": failed to call webhook: Post \"https://127.0.0.1:{port}/validate?timeout=10s\": ",
        path_str(&refused)
    );
    assert!(stderr(&out).starts_with(&expected), "{}", stderr(&out));
    kubectl_ok(
        &admin,
        &["delete", "validatingwebhookconfiguration", "down-fail"],
    );
    kubectl_ok(&admin, &["create", "-f", path_str(&refused)]);
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels:
    app: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: busybox
";

#[test]
fn a_mutating_webhook_by_service_patches_and_apply_stays_idempotent() {
    let controller = Controller::start();
    let admin = controller.admin();
    let server = webhook_server::start(controller.node.root.path());
    // A Service without selector whose Endpoints are the test's server.
    let service = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hooks", "namespace": "default"},
         "spec": {"ports": [{"name": "https", "port": 443, "targetPort": server.port}]}},
        {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "hooks", "namespace": "default"},
         "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "https", "port": server.port}]}]},
    ]});
    create(&controller, &admin, "service", &service);
    let client = json!({"service": {"namespace": "default", "name": "hooks", "path": "/mutate"},
                        "caBundle": server.ca_bundle()});
    let config = configuration("Mutating", "label", &[("label.k0rs.io", client, json!({}))]);
    create(&controller, &admin, "label", &config);

    kubectl_ok(&admin, &["create", "configmap", "m", "--from-literal=a=b"]);
    let object: Value = serde_json::from_str(&kubectl_ok(
        &admin,
        &["get", "configmap", "m", "-o", "json"],
    ))
    .unwrap();
    assert_eq!(object["metadata"]["labels"]["mutated"], "yes", "{object}");
    assert_eq!(
        last_review(&server, "/mutate", "m")["request"]["operation"],
        "CREATE"
    );

    // Server-side apply through the webhook: labelled, and the same the second time.
    let path = controller.node.root.path().join("web.yaml");
    std::fs::write(&path, DEPLOYMENT).unwrap();
    let apply = ["apply", "--server-side", "-f", path_str(&path)];
    kubectl_ok(&admin, &apply);
    let get = ["get", "deployment", "web", "-o", "json"];
    let first: Value = serde_json::from_str(&kubectl_ok(&admin, &get)).unwrap();
    assert_eq!(first["metadata"]["labels"]["mutated"], "yes", "{first}");
    let out = kubectl(&admin, &apply);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "deployment.apps/web serverside-applied\n");
    let second: Value = serde_json::from_str(&kubectl_ok(&admin, &get)).unwrap();
    assert_eq!(
        second["metadata"]["generation"],
        first["metadata"]["generation"]
    );
    assert_eq!(second["metadata"]["labels"], first["metadata"]["labels"]);
    let out = kubectl(&admin, &["diff", "--server-side", "-f", path_str(&path)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    // The diff's dry run reached the webhook (its side effects are None).
    assert!(
        server
            .reviews_at("/mutate")
            .iter()
            .any(|r| r["request"]["name"] == "web" && r["request"]["dryRun"] == true)
    );
}
