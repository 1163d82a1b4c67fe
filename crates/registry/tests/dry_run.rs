//! Dry runs of every write verb and subresource store nothing, whichever way the dry run is asked
//! for: a registry made for it (the `dryRun=All` query), or `dryRun: ["All"]` in the
//! `DeleteOptions` of a delete, a deletecollection or an eviction. The store's revision tells.

mod common;

use common::{NoAdmission, dry_run_options, objects, revision};
use k0rs_api::patch::PatchType;
use k0rs_registry::{DeleteOptions, Filter, ServedSubresource, find};
use serde_json::json;

#[tokio::test]
#[allow(clippy::too_many_lines)] // one case per write verb and subresource
async fn dry_runs_of_every_write_verb_and_subresource_store_nothing() {
    let (registry, store, _dir) = common::registry_and_store().await;
    objects(&registry).await;
    let (cm, deployments, pods, namespaces) = (
        find("", "v1", "configmaps").unwrap(),
        find("apps", "v1", "deployments").unwrap(),
        find("", "v1", "pods").unwrap(),
        find("", "v1", "namespaces").unwrap(),
    );
    let dry = registry.dry_run();
    let before = revision(&store).await;
    let ns = Some("default");

    let created = dry
        .create(cm, ns, json!({"metadata": {"name": "c2"}}))
        .await
        .unwrap();
    assert_eq!(created["metadata"]["name"], "c2");
    let mut c1 = registry.get(cm, ns, "c1").await.unwrap();
    c1["data"]["k"] = json!("changed");
    dry.update(cm, ns, "c1", c1).await.unwrap();
    for (patch, kind) in [
        (&br#"{"data":{"k":"p"}}"#[..], PatchType::StrategicMerge),
        (br#"{"data":{"k":"p"}}"#, PatchType::Merge),
        (
            br#"[{"op":"replace","path":"/data/k","value":"p"}]"#,
            PatchType::Json,
        ),
    ] {
        dry.patch(cm, ns, "c1", patch, kind).await.unwrap();
    }
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "c1"}, "data": {"k": "applied"}});
    dry.apply(cm, ns, "c1", &config, "test", true, &NoAdmission)
        .await
        .unwrap();
    dry.delete(cm, ns, "c1").await.unwrap();
    registry
        .delete_with(cm, ns, "c1", &dry_run_options())
        .await
        .unwrap();
    registry
        .delete_collection(cm, ns, &Filter::default(), &dry_run_options())
        .await
        .unwrap();
    registry
        .delete_with(namespaces, None, "scratch", &dry_run_options())
        .await
        .unwrap();
    // The pod is bound: a real delete or eviction would mark it for its kubelet.
    registry
        .delete_with(pods, ns, "p", &dry_run_options())
        .await
        .unwrap();
    let eviction = json!({"apiVersion": "policy/v1", "kind": "Eviction",
                          "metadata": {"name": "p"}, "deleteOptions": {"dryRun": ["All"]}});
    registry
        .create_subresource(pods, ns, "p", ServedSubresource::Eviction, &eviction)
        .await
        .unwrap();
    let without_options = json!({"metadata": {"name": "p"}});
    dry.create_subresource(pods, ns, "p", ServedSubresource::Eviction, &without_options)
        .await
        .unwrap();
    let mut status = registry.get(deployments, ns, "web").await.unwrap();
    status["status"] = json!({"replicas": 7});
    dry.update_subresource(deployments, ns, "web", ServedSubresource::Status, status)
        .await
        .unwrap();
    dry.patch_subresource(
        deployments,
        ns,
        "web",
        ServedSubresource::Status,
        br#"{"status":{"replicas":8}}"#,
        PatchType::Merge,
    )
    .await
    .unwrap();
    let scaled = dry
        .update_subresource(
            deployments,
            ns,
            "web",
            ServedSubresource::Scale,
            json!({"spec": {"replicas": 5}}),
        )
        .await
        .unwrap();
    assert_eq!(scaled["spec"]["replicas"], 5);
    dry.patch_subresource(
        deployments,
        ns,
        "web",
        ServedSubresource::Scale,
        br#"{"spec":{"replicas":6}}"#,
        PatchType::Merge,
    )
    .await
    .unwrap();
    let binding = json!({"metadata": {"name": "q"}, "target": {"name": "n2"}});
    dry.create_subresource(pods, ns, "q", ServedSubresource::Binding, &binding)
        .await
        .unwrap();

    assert_eq!(revision(&store).await, before, "a dry run wrote");
    let unbound = registry.get(pods, ns, "q").await.unwrap();
    assert!(unbound["spec"].get("nodeName").is_none(), "{unbound}");
    let pod = registry.get(pods, ns, "p").await.unwrap();
    assert!(pod["metadata"].get("deletionTimestamp").is_none(), "{pod}");
    let web = registry.get(deployments, ns, "web").await.unwrap();
    assert_eq!(web["spec"]["replicas"], 1);
    assert!(registry.get(cm, ns, "c2").await.is_err());
    assert_eq!(registry.get(cm, ns, "c1").await.unwrap()["data"]["k"], "v");
    // An unsupported dry-run mode is refused, not ignored.
    let bad = DeleteOptions::parse(
        br#"{"dryRun":["Some"]}"#,
        &std::collections::HashMap::default(),
    )
    .unwrap_err();
    assert_eq!(bad.code, 422, "{}", bad.message);
}
