//! Services' addresses and ports, the status/scale/binding/eviction subresources and delete options,
//! on the embedded store.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use k0rs_registry::{DeleteOptions, Registry, ServedSubresource, ServiceNetwork, find};
use serde_json::{Value, json};

async fn registry(network: ServiceNetwork) -> (Registry, tempfile::TempDir) {
    let (store, dir) = common::embedded().await;
    let registry = Registry::with_service_network(Arc::new(store), network);
    (common::bootstrapped(registry).await, dir)
}

fn service(name: &str, spec: &Value) -> Value {
    json!({ "metadata": { "name": name }, "spec": spec })
}

#[tokio::test]
async fn concurrent_services_never_share_an_address_and_a_full_range_is_an_error() {
    // A /28 has 14 usable addresses.
    let network = ServiceNetwork {
        cidr: "10.0.0.0/28".parse().unwrap(),
        node_ports: 30000..=30004,
    };
    let (registry, _dir) = registry(network).await;
    let services = find("", "v1", "services").unwrap();
    let mut tasks = Vec::new();
    for i in 0..14 {
        let registry = registry.clone();
        tasks.push(tokio::spawn(async move {
            registry
                .create(
                    services,
                    Some("default"),
                    service(&format!("s{i}"), &json!({"ports": [{"port": 80}]})),
                )
                .await
        }));
    }
    let mut ips = HashSet::new();
    for task in tasks {
        let created = task.await.unwrap().unwrap();
        let ip = created["spec"]["clusterIP"].as_str().unwrap().to_owned();
        assert!(ip.starts_with("10.0.0."), "{ip}");
        assert!(ip != "10.0.0.0" && ip != "10.0.0.15", "{ip}");
        assert!(ips.insert(ip.clone()), "{ip} given twice");
    }
    let full = registry
        .create(
            services,
            Some("default"),
            service("one-too-many", &json!({"ports": [{"port": 80}]})),
        )
        .await
        .unwrap_err();
    assert!(full.message.contains("is full"), "{}", full.message);
    // Deleting one frees its address for the next.
    registry
        .delete(services, Some("default"), "s3")
        .await
        .unwrap();
    registry
        .create(
            services,
            Some("default"),
            service("next", &json!({"ports": [{"port": 80}]})),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn node_ports_are_allocated_kept_on_update_and_released_on_type_change() {
    let (registry, _dir) = registry(ServiceNetwork::default()).await;
    let services = find("", "v1", "services").unwrap();
    let created = registry
        .create(
            services,
            Some("default"),
            service("np", &json!({"type": "NodePort", "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443, "nodePort": 30443}]}),
            ),
        )
        .await
        .unwrap();
    let first = created["spec"]["ports"][0]["nodePort"].as_u64().unwrap();
    assert!((30000..=32767).contains(&first));
    assert_eq!(created["spec"]["ports"][1]["nodePort"], 30443);
    assert_eq!(created["spec"]["externalTrafficPolicy"], "Cluster");

    let taken = registry
        .create(
            services,
            Some("default"),
            service(
                "other",
                &json!({"type": "NodePort", "ports": [{"port": 1, "nodePort": 30443}]}),
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(taken.code, 422);
    assert!(taken.message.contains("provided port is already allocated"));

    // An update that leaves the node ports out keeps them, and the ClusterIP.
    let mut update = created.clone();
    for port in update["spec"]["ports"].as_array_mut().unwrap() {
        port.as_object_mut().unwrap().remove("nodePort");
    }
    update["spec"].as_object_mut().unwrap().remove("clusterIP");
    let updated = registry
        .update(services, Some("default"), "np", update)
        .await
        .unwrap();
    assert_eq!(updated["spec"]["ports"][0]["nodePort"], first);
    assert_eq!(updated["spec"]["clusterIP"], created["spec"]["clusterIP"]);

    // Back to ClusterIP: the node ports go, and someone else may take them.
    let mut cluster_ip = updated.clone();
    cluster_ip["spec"]["type"] = json!("ClusterIP");
    cluster_ip["spec"]
        .as_object_mut()
        .unwrap()
        .remove("externalTrafficPolicy");
    let back = registry
        .update(services, Some("default"), "np", cluster_ip)
        .await
        .unwrap();
    assert!(back["spec"]["ports"][1].get("nodePort").is_none());
    registry
        .create(
            services,
            Some("default"),
            service(
                "other",
                &json!({"type": "NodePort", "ports": [{"port": 1, "nodePort": 30443}]}),
            ),
        )
        .await
        .unwrap();

    // The ClusterIP may not change.
    let mut moved = back.clone();
    moved["spec"]["clusterIP"] = json!("10.96.0.99");
    let refused = registry
        .update(services, Some("default"), "np", moved)
        .await
        .unwrap_err();
    assert_eq!(refused.code, 422, "{}", refused.message);
}

#[tokio::test]
async fn creating_an_existing_service_again_is_already_exists_not_an_address_clash() {
    let (registry, _dir) = registry(ServiceNetwork::default()).await;
    let services = find("", "v1", "services").unwrap();
    let fixed = service(
        "fixed",
        &json!({"clusterIP": "10.96.0.50", "ports": [{"port": 80}]}),
    );
    registry
        .create(services, Some("default"), fixed.clone())
        .await
        .unwrap();
    let again = registry
        .create(services, Some("default"), fixed)
        .await
        .unwrap_err();
    assert_eq!(again.code, 409, "{}", again.message);
    // The failed second create released nothing: the address is still held.
    let clash = registry
        .create(
            services,
            Some("default"),
            service(
                "clash",
                &json!({"clusterIP": "10.96.0.50", "ports": [{"port": 80}]}),
            ),
        )
        .await
        .unwrap_err();
    assert!(
        clash.message.contains("already allocated"),
        "{}",
        clash.message
    );
}

#[tokio::test]
async fn status_and_main_writes_each_keep_the_other_part() {
    let (registry, _dir) = registry(ServiceNetwork::default()).await;
    let deployments = find("apps", "v1", "deployments").unwrap();
    let created = registry
        .create(
            deployments,
            Some("default"),
            json!({"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"a": "b"}},
                   "template": {"metadata": {"labels": {"a": "b"}},
                                "spec": {"containers": [{"name": "c", "image": "busybox"}]}}},
                   "status": {"replicas": 9}}),
        )
        .await
        .unwrap();
    // A create may not set the status; replicas default to 1.
    assert!(created.get("status").is_none(), "{created}");
    assert_eq!(created["spec"]["replicas"], 1);

    let mut status = created.clone();
    status["status"] = json!({"replicas": 1, "readyReplicas": 1});
    status["spec"]["replicas"] = json!(7);
    let written = registry
        .update_subresource(
            deployments,
            Some("default"),
            "d",
            ServedSubresource::Status,
            status,
        )
        .await
        .unwrap();
    assert_eq!(written["status"]["readyReplicas"], 1);
    assert_eq!(
        written["spec"]["replicas"], 1,
        "a status write changed the spec"
    );
    assert_eq!(written["metadata"]["generation"], 1);

    let mut main = written.clone();
    main["status"] = json!({"replicas": 100});
    main["spec"]["replicas"] = json!(3);
    let written = registry
        .update(deployments, Some("default"), "d", main)
        .await
        .unwrap();
    assert_eq!(
        written["status"]["readyReplicas"], 1,
        "a spec write changed the status"
    );
    assert_eq!(written["spec"]["replicas"], 3);
    assert_eq!(written["metadata"]["generation"], 2);

    let scale = registry
        .get_subresource(deployments, Some("default"), "d", ServedSubresource::Scale)
        .await
        .unwrap();
    assert_eq!(scale["spec"]["replicas"], 3);
    assert_eq!(scale["status"]["selector"], "a=b");
    let negative = registry
        .update_subresource(
            deployments,
            Some("default"),
            "d",
            ServedSubresource::Scale,
            json!({"spec": {"replicas": -1}}),
        )
        .await
        .unwrap_err();
    assert_eq!(negative.code, 422);
}

async fn pod(registry: &Registry, name: &str) -> Value {
    registry
        .create(
            find("", "v1", "pods").unwrap(),
            Some("default"),
            json!({"metadata": {"name": name},
                   "spec": {"containers": [{"name": "c", "image": "busybox"}]}}),
        )
        .await
        .unwrap()
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // one pod's life, told in order
async fn binding_assigns_a_pod_once_and_bound_pods_are_deleted_gracefully() {
    let (registry, _dir) = registry(ServiceNetwork::default()).await;
    let pods = find("", "v1", "pods").unwrap();
    let created = pod(&registry, "p").await;
    assert_eq!(created["status"]["phase"], "Pending");
    assert_eq!(created["status"]["qosClass"], "BestEffort");
    assert_eq!(created["spec"]["terminationGracePeriodSeconds"], 30);

    let binding = json!({"metadata": {"name": "p"}, "target": {"kind": "Node", "name": "n1"}});
    registry
        .create_subresource(
            pods,
            Some("default"),
            "p",
            ServedSubresource::Binding,
            &binding,
        )
        .await
        .unwrap();
    let bound = registry.get(pods, Some("default"), "p").await.unwrap();
    assert_eq!(bound["spec"]["nodeName"], "n1");
    assert_eq!(bound["status"]["conditions"][0]["type"], "PodScheduled");
    let again = registry
        .create_subresource(
            pods,
            Some("default"),
            "p",
            ServedSubresource::Binding,
            &binding,
        )
        .await
        .unwrap_err();
    assert_eq!(again.code, 409);
    assert!(
        again.message.contains("already assigned"),
        "{}",
        again.message
    );

    // A wrong uid precondition refuses the delete.
    let wrong = DeleteOptions {
        uid: Some("not-the-uid".into()),
        ..DeleteOptions::default()
    };
    let refused = registry
        .delete_with(pods, Some("default"), "p", &wrong)
        .await
        .unwrap_err();
    assert_eq!(refused.code, 409);
    assert!(
        refused.message.contains("Precondition failed: UID"),
        "{}",
        refused.message
    );

    // A bound pod waits for its kubelet: marked, with its grace period.
    let marked = registry.delete(pods, Some("default"), "p").await.unwrap();
    assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 30);
    assert!(marked["metadata"]["deletionTimestamp"].is_string());
    // A status write from the kubelet does not remove it.
    let mut status = marked.clone();
    status["status"]["phase"] = json!("Running");
    registry
        .update_subresource(
            pods,
            Some("default"),
            "p",
            ServedSubresource::Status,
            status,
        )
        .await
        .unwrap();
    // The kubelet's final delete with grace period 0 does.
    let now = DeleteOptions::parse(
        b"",
        &HashMap::from([("gracePeriodSeconds".into(), "0".into())]),
    )
    .unwrap();
    registry
        .delete_with(pods, Some("default"), "p", &now)
        .await
        .unwrap();
    assert_eq!(
        registry
            .get(pods, Some("default"), "p")
            .await
            .unwrap_err()
            .code,
        404
    );

    // An unbound pod goes at once; an eviction deletes too.
    pod(&registry, "q").await;
    registry
        .create_subresource(
            pods,
            Some("default"),
            "q",
            ServedSubresource::Eviction,
            &json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "q"}}),
        )
        .await
        .unwrap();
    assert_eq!(
        registry
            .get(pods, Some("default"), "q")
            .await
            .unwrap_err()
            .code,
        404
    );
}

#[test]
fn delete_options_come_from_the_body_and_the_query() {
    let options = DeleteOptions::parse(
        br#"{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":5,"preconditions":{"resourceVersion":"7"},"orphanDependents":true}"#,
        &HashMap::new(),
    )
    .unwrap();
    assert_eq!(options.grace_period_seconds, Some(5));
    assert_eq!(options.resource_version.as_deref(), Some("7"));
    assert_eq!(
        options.propagation_policy,
        Some(k0rs_registry::Propagation::Orphan)
    );
    let bad = DeleteOptions::parse(
        b"",
        &HashMap::from([("propagationPolicy".into(), "Sideways".into())]),
    )
    .unwrap_err();
    assert_eq!(bad.code, 400);
    let negative =
        DeleteOptions::parse(br#"{"gracePeriodSeconds":-1}"#, &HashMap::new()).unwrap_err();
    assert_eq!(negative.code, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_binding_racing_other_writes_to_its_pod_is_applied_to_the_newest_pod() {
    // The scheduler binds while others write the pod (the preemptor's nomination, a label): the
    // binding is redone on the newest pod, as kube-apiserver's is, not refused as a conflict.
    let (registry, _dir) = registry(ServiceNetwork::default()).await;
    let registry = Arc::new(registry);
    let pods = find("", "v1", "pods").unwrap();
    for i in 0..20 {
        let name = format!("p{i}");
        pod(&registry, &name).await;
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let (registry, name) = (registry.clone(), name.clone());
                tokio::spawn(async move {
                    let patch = json!({"status": {"nominatedNodeName": format!("n{w}")}});
                    registry
                        .patch_subresource(
                            pods,
                            Some("default"),
                            &name,
                            ServedSubresource::Status,
                            patch.to_string().as_bytes(),
                            k0rs_api::patch::PatchType::Merge,
                        )
                        .await
                })
            })
            .collect();
        let binding = json!({"target": {"kind": "Node", "name": "n1"}});
        registry
            .create_subresource(
                pods,
                Some("default"),
                &name,
                ServedSubresource::Binding,
                &binding,
            )
            .await
            .unwrap_or_else(|e| panic!("binding {name}: {e:?}"));
        for writer in writers {
            writer.await.unwrap().unwrap();
        }
        let bound = registry.get(pods, Some("default"), &name).await.unwrap();
        assert_eq!(bound["spec"]["nodeName"], "n1");
    }
}
