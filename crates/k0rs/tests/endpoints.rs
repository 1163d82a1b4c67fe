//! The endpoints and endpointslice controllers of `k0rs controller`, judged by kubectl over fake
//! nodes whose kubelets (tests/harness/kubelet.rs) report pods Running and Ready with an IP; and
//! node IPAM, which gives each node its pod CIDR.

mod harness;

use harness::cluster::{create, eventually, json_of, run};
use harness::controller::Controller;
use harness::kubelet::Kubelets;
use serde_json::json;

/// The ready addresses of the Endpoints `name` with their ports, and the not-ready ones.
fn endpoints(admin: &std::path::Path, name: &str) -> (Vec<(String, i64)>, usize) {
    let endpoints = json_of(admin, &["get", "endpoints", name]);
    let mut ready = Vec::new();
    let mut not_ready = 0;
    for subset in endpoints["subsets"].as_array().into_iter().flatten() {
        for address in subset["addresses"].as_array().into_iter().flatten() {
            ready.push((
                address["ip"].as_str().unwrap().to_owned(),
                subset["ports"][0]["port"].as_i64().unwrap(),
            ));
        }
        not_ready += subset["notReadyAddresses"].as_array().map_or(0, Vec::len);
    }
    ready.sort();
    (ready, not_ready)
}

fn slices(admin: &std::path::Path, service: &str) -> Vec<serde_json::Value> {
    let selector = format!("kubernetes.io/service-name={service}");
    json_of(admin, &["get", "endpointslices", "-l", &selector])["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn services_get_endpoints_and_slices_of_the_pods_they_select_on_named_ports() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let _kubelets = Kubelets::start(
        &admin,
        &[
            json!({"metadata": {"name": "n1"}}),
            json!({"metadata": {"name": "n2"}}),
        ],
    );
    create(
        &controller,
        &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                {"name": "web", "image": "busybox:1.36", "ports": [{"name": "http", "containerPort": 8080}]},
            ]}},
        }}),
    );
    run(
        &admin,
        &["create", "service", "clusterip", "web", "--tcp=80:8080"],
    );
    run(
        &admin,
        &[
            "patch",
            "service",
            "web",
            "-p",
            r#"{"spec":{"ports":[{"name":"80-8080","port":80,"targetPort":"http"}]}}"#,
        ],
    );
    run(
        &admin,
        &["rollout", "status", "deployment/web", "--timeout=60s"],
    );
    eventually(30, "three ready endpoints on the named port", || {
        let (ready, not_ready) = endpoints(&admin, "web");
        ready.len() == 3 && ready.iter().all(|(_, port)| *port == 8080) && not_ready == 0
    });
    let pod_ips: Vec<String> = {
        let pods = json_of(&admin, &["get", "pods", "-l", "app=web"]);
        let mut ips: Vec<String> = pods["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["status"]["podIP"].as_str().unwrap().to_owned())
            .collect();
        ips.sort();
        ips
    };
    let (ready, _) = endpoints(&admin, "web");
    assert_eq!(
        ready.iter().map(|(ip, _)| ip.clone()).collect::<Vec<_>>(),
        pod_ips
    );
    let web_slices = slices(&admin, "web");
    assert_eq!(web_slices.len(), 1, "{web_slices:?}");
    let slice = &web_slices[0];
    assert_eq!(slice["addressType"], "IPv4");
    assert_eq!(slice["ports"][0]["port"], 8080);
    assert_eq!(slice["metadata"]["ownerReferences"][0]["kind"], "Service");
    let endpoints_of_slice = slice["endpoints"].as_array().unwrap();
    assert_eq!(endpoints_of_slice.len(), 3);
    assert!(
        endpoints_of_slice
            .iter()
            .all(|e| e["conditions"]["ready"] == true && e["targetRef"]["kind"] == "Pod")
    );

    // `kubectl get endpoints` prints them as operators know it.
    let printed = run(&admin, &["get", "endpoints", "web"]);
    assert!(printed.contains(":8080"), "{printed}");

    // Scaled to zero, the service has no endpoints.
    run(&admin, &["scale", "deployment/web", "--replicas=0"]);
    eventually(30, "no endpoints", || {
        endpoints(&admin, "web") == (Vec::new(), 0)
            && slices(&admin, "web")
                .iter()
                .all(|s| s["endpoints"].as_array().is_none_or(Vec::is_empty))
    });

    // A deleted service takes its endpoints and slices with it.
    run(&admin, &["delete", "service", "web"]);
    eventually(30, "endpoints and slices gone", || {
        !run(&admin, &["get", "endpoints", "-o", "name"]).contains("endpoints/web")
            && slices(&admin, "web").is_empty()
    });

    // Every node got its own pod CIDR from the cluster's 10.244.0.0/16.
    let nodes = json_of(&admin, &["get", "nodes"]);
    let mut cidrs: Vec<String> = nodes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["spec"]["podCIDR"].as_str().unwrap_or_default().to_owned())
        .collect();
    cidrs.sort();
    assert_eq!(cidrs, ["10.244.0.0/24", "10.244.1.0/24"]);
}

#[test]
fn a_headless_service_names_its_pods_by_hostname() {
    let controller = Controller::start_control_plane();
    let admin = controller.admin();
    let _kubelets = Kubelets::start(&admin, &[json!({"metadata": {"name": "n1"}})]);
    create(
        &controller,
        &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"}, "spec": {
            "clusterIP": "None", "selector": {"app": "db"}, "ports": [{"port": 5432}],
        }}),
    );
    create(
        &controller,
        &json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"}, "spec": {
            "replicas": 2, "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [
                {"name": "db", "image": "busybox:1.36"},
            ]}},
        }}),
    );
    eventually(60, "two named endpoints", || {
        let endpoints = json_of(&admin, &["get", "endpoints", "db"]);
        let mut names: Vec<String> = endpoints["subsets"][0]["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["hostname"].as_str().map(str::to_owned))
            .collect();
        names.sort();
        names == ["db-0", "db-1"]
            && endpoints["metadata"]["labels"]
                .get("service.kubernetes.io/headless")
                .is_some()
    });
}
