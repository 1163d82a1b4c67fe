//! The generic registry on the embedded store: Kubernetes' create/get/list/update/delete rules.

mod common;

use common::registry;
use k0rs_registry::{Filter, find};
use serde_json::json;

#[tokio::test]
async fn create_get_list_update_delete() {
    let (registry, _dir) = registry().await;
    let cm = find("", "v1", "configmaps").unwrap();
    let created = registry
        .create(
            cm,
            Some("default"),
            json!({"metadata": {"name": "a"}, "data": {"k": "v"}}),
        )
        .await
        .unwrap();
    assert_eq!(created["kind"], "ConfigMap");
    assert!(
        created.get("spec").is_none(),
        "a kind without a spec got one"
    );
    assert_eq!(created["apiVersion"], "v1");
    assert_eq!(created["metadata"]["namespace"], "default");
    assert!(
        created["metadata"]["uid"]
            .as_str()
            .is_some_and(|u| u.len() == 36)
    );
    assert!(
        created["metadata"].get("generation").is_none(),
        "ConfigMaps have no generation"
    );
    let rv = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();

    let again = registry
        .create(cm, Some("default"), json!({"metadata": {"name": "a"}}))
        .await
        .unwrap_err();
    assert_eq!(
        (again.code, again.message.as_str()),
        (409, "configmaps \"a\" already exists")
    );

    let got = registry.get(cm, Some("default"), "a").await.unwrap();
    assert_eq!(got, created);
    let list = registry
        .list(cm, Some("default"), &Filter::default())
        .await
        .unwrap();
    assert_eq!(
        (
            list["kind"].as_str(),
            list["items"].as_array().unwrap().len()
        ),
        (Some("ConfigMapList"), 1)
    );
    assert!(
        registry
            .list(cm, Some("kube-system"), &Filter::default())
            .await
            .unwrap()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let mut changed = got.clone();
    changed["data"]["k"] = json!("w");
    let updated = registry
        .update(cm, Some("default"), "a", changed.clone())
        .await
        .unwrap();
    assert_ne!(
        updated["metadata"]["resourceVersion"].as_str(),
        Some(rv.as_str())
    );
    assert_eq!(updated["metadata"]["uid"], created["metadata"]["uid"]);
    // The same update again is based on a resourceVersion that is no longer current.
    let stale = registry
        .update(cm, Some("default"), "a", changed)
        .await
        .unwrap_err();
    assert_eq!(
        (stale.code, stale.reason),
        (409, k0rs_api::StatusReason::Conflict)
    );

    registry.delete(cm, Some("default"), "a").await.unwrap();
    let gone = registry.get(cm, Some("default"), "a").await.unwrap_err();
    assert_eq!(
        (gone.code, gone.message.as_str()),
        (404, "configmaps \"a\" not found")
    );
}

#[tokio::test]
async fn bad_input_is_refused_and_writes_nothing() {
    let (registry, _dir) = registry().await;
    let cm = find("", "v1", "configmaps").unwrap();
    let cases = [
        (json!({"metadata": {}}), 422),
        (json!({"metadata": {"name": "Bad_Name"}}), 422),
        (json!({"kind": "Secret", "metadata": {"name": "x"}}), 400),
        (
            json!({"metadata": {"name": "x", "namespace": "other"}}),
            400,
        ),
        (json!({"metadata": "nope"}), 400),
    ];
    for (body, code) in cases {
        let err = registry
            .create(cm, Some("default"), body.clone())
            .await
            .unwrap_err();
        assert_eq!(err.code, code, "{body}: {}", err.message);
    }
    let missing_ns = registry
        .create(cm, Some("nope"), json!({"metadata": {"name": "x"}}))
        .await
        .unwrap_err();
    assert_eq!(
        (missing_ns.code, missing_ns.message.as_str()),
        (404, "namespaces \"nope\" not found")
    );
    assert!(
        registry.list(cm, None, &Filter::default()).await.unwrap()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn generate_name_and_generation() {
    let (registry, _dir) = registry().await;
    let deployments = find("apps", "v1", "deployments").unwrap();
    let d = registry
        .create(
            deployments,
            Some("default"),
            json!({"metadata": {"generateName": "web-"}, "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                             "spec": {"containers": [{"name": "web", "image": "busybox"}]}}
            }}),
        )
        .await
        .unwrap();
    let name = d["metadata"]["name"].as_str().unwrap().to_owned();
    assert!(name.starts_with("web-") && name.len() == 9, "{name}");
    assert_eq!(d["metadata"]["generation"], 1);
    let mut scaled = d.clone();
    scaled["spec"]["replicas"] = json!(3);
    assert_eq!(
        registry
            .update(deployments, Some("default"), &name, scaled)
            .await
            .unwrap()["metadata"]["generation"],
        2
    );
    let mut labelled = registry
        .get(deployments, Some("default"), &name)
        .await
        .unwrap();
    labelled["metadata"]["labels"] = json!({"app": "web"});
    let labelled = registry
        .update(deployments, Some("default"), &name, labelled)
        .await
        .unwrap();
    assert_eq!(
        labelled["metadata"]["generation"], 2,
        "a metadata change bumped the generation"
    );
    let namespaces = registry
        .list(
            find("", "v1", "namespaces").unwrap(),
            None,
            &Filter::default(),
        )
        .await
        .unwrap();
    let names: Vec<_> = namespaces["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["metadata"]["name"].clone())
        .collect();
    assert_eq!(
        names,
        [
            json!("default"),
            json!("kube-node-lease"),
            json!("kube-public"),
            json!("kube-system")
        ]
    );
    assert_eq!(namespaces["items"][0]["status"]["phase"], "Active");
}

#[tokio::test]
async fn finalizers_hold_deletion_and_terminating_namespaces_refuse_content() {
    let (registry, _dir) = registry().await;
    let cm = find("", "v1", "configmaps").unwrap();
    let body = json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}});
    registry.create(cm, Some("default"), body).await.unwrap();
    let marked = registry.delete(cm, Some("default"), "held").await.unwrap();
    assert!(
        marked["metadata"]["deletionTimestamp"].is_string(),
        "{marked}"
    );
    // Still there, and deleting again changes nothing.
    let still = registry.get(cm, Some("default"), "held").await.unwrap();
    assert_eq!(
        still["metadata"]["deletionTimestamp"],
        marked["metadata"]["deletionTimestamp"]
    );
    registry.delete(cm, Some("default"), "held").await.unwrap();
    // Removing the last finalizer removes the object.
    let mut released = registry.get(cm, Some("default"), "held").await.unwrap();
    released["metadata"]["finalizers"] = json!([]);
    registry
        .update(cm, Some("default"), "held", released)
        .await
        .unwrap();
    assert_eq!(
        registry
            .get(cm, Some("default"), "held")
            .await
            .unwrap_err()
            .code,
        404
    );

    let namespaces = find("", "v1", "namespaces").unwrap();
    registry
        .create(namespaces, None, json!({"metadata": {"name": "doomed"}}))
        .await
        .unwrap();
    let terminating = registry.delete(namespaces, None, "doomed").await.unwrap();
    assert_eq!(terminating["status"]["phase"], "Terminating");
    let refused = registry
        .create(cm, Some("doomed"), json!({"metadata": {"name": "late"}}))
        .await
        .unwrap_err();
    assert_eq!(refused.code, 403);
    assert!(
        refused.message.contains("being terminated"),
        "{}",
        refused.message
    );
}

#[tokio::test]
async fn events_are_kept_one_hour_after_their_last_write() {
    let (registry, store, _dir) = common::registry_and_store().await;
    let events = find("", "v1", "events").unwrap();
    let event = registry
        .create(
            events,
            Some("default"),
            json!({"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"},
                   "reason": "Started", "message": "started"}),
        )
        .await
        .unwrap();
    let key = b"/registry/events/default/e";
    let first = store.get(key).await.unwrap().unwrap().lease;
    assert_ne!(first, 0, "an Event is stored without a lease");
    let ttl = store.lease_keep_alive(first).await.unwrap();
    assert!((3600..=3660).contains(&ttl), "{ttl}");
    // An update renews it: the event lives an hour after its last write.
    let mut updated = event.clone();
    updated["count"] = json!(2);
    registry
        .update(events, Some("default"), "e", updated)
        .await
        .unwrap();
    let second = store.get(key).await.unwrap().unwrap().lease;
    assert_ne!(second, 0);
    // Other kinds live until deleted.
    let cm = find("", "v1", "configmaps").unwrap();
    registry
        .create(cm, Some("default"), json!({"metadata": {"name": "c"}}))
        .await
        .unwrap();
    let lease = store
        .get(b"/registry/configmaps/default/c")
        .await
        .unwrap()
        .unwrap()
        .lease;
    assert_eq!(lease, 0);
}
