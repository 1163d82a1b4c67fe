//! What the API must not let a client do to the data: store an object its kind cannot decode,
//! delete the control plane's namespaces, bump resourceVersion with a write that changes nothing.
//! Each case checks the store's revision: nothing refused is written, no no-op moves it.

mod common;

use std::sync::Arc;

use common::{NoAdmission, dry_run_options, objects, revision};
use k0rs_api::patch::PatchType;
use k0rs_registry::{DeleteOptions, Filter, Registry, ServedSubresource, find};
use k0rs_store::Store;
use serde_json::{Value, json};

#[tokio::test]
async fn the_control_planes_namespaces_may_not_be_deleted() {
    let (registry, store, _dir) = common::registry_and_store().await;
    let namespaces = find("", "v1", "namespaces").unwrap();
    let before = revision(&store).await;
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        for options in [DeleteOptions::default(), dry_run_options()] {
            let refused = registry
                .delete_with(namespaces, None, name, &options)
                .await
                .unwrap_err();
            assert_eq!(
                (refused.code, refused.reason),
                (403, k0rs_api::StatusReason::Forbidden)
            );
            assert_eq!(
                refused.message,
                format!("namespaces \"{name}\" is forbidden: this namespace may not be deleted")
            );
        }
    }
    let all = registry
        .delete_collection(
            namespaces,
            None,
            &Filter::default(),
            &DeleteOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(all.code, 403);
    assert_eq!(revision(&store).await, before);
    assert!(!namespaces.verbs.contains(&"deletecollection"));
    // Other namespaces go as before.
    registry
        .create(namespaces, None, json!({"metadata": {"name": "scratch"}}))
        .await
        .unwrap();
    let deleted = registry.delete(namespaces, None, "scratch").await.unwrap();
    assert_eq!(deleted["status"]["phase"], "Terminating");
}

/// What a wrongly typed write leaves: the error, and the object unchanged.
async fn refused(
    registry: &Registry,
    store: &Arc<dyn Store>,
    write: impl Future<Output = Result<Value, k0rs_api::Status>>,
) -> k0rs_api::Status {
    let before = revision(store).await;
    let status = write.await.expect_err("a wrongly typed write is refused");
    assert!(
        (400..500).contains(&status.code),
        "{}: {}",
        status.code,
        status.message
    );
    assert_eq!(revision(store).await, before, "{}", status.message);
    let c1 = registry
        .get(find("", "v1", "configmaps").unwrap(), Some("default"), "c1")
        .await
        .unwrap();
    assert_eq!(c1["metadata"].get("labels"), None, "{c1}");
    status
}

#[tokio::test]
async fn bodies_and_patches_that_would_store_a_wrongly_typed_field_are_refused() {
    let (registry, store, _dir) = common::registry_and_store().await;
    objects(&registry).await;
    let cm = find("", "v1", "configmaps").unwrap();
    let ns = Some("default");
    let bad = json!({"metadata": {"name": "c1", "labels": "invalid"}});

    let created = refused(
        &registry,
        &store,
        registry.create(
            cm,
            ns,
            json!({"metadata": {"name": "c2", "labels": "invalid"}}),
        ),
    )
    .await;
    assert_eq!(created.code, 400);
    assert_eq!(
        created.message,
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type map[string]string"
    );
    assert!(registry.get(cm, ns, "c2").await.is_err());
    let updated = refused(
        &registry,
        &store,
        registry.update(cm, ns, "c1", bad.clone()),
    )
    .await;
    assert_eq!(updated.code, 400);

    let strategic = refused(
        &registry,
        &store,
        registry.patch(
            cm,
            ns,
            "c1",
            br#"{"metadata":{"labels":"invalid"}}"#,
            PatchType::StrategicMerge,
        ),
    )
    .await;
    assert_eq!(
        (strategic.code, strategic.reason),
        (422, k0rs_api::StatusReason::Invalid)
    );
    assert_eq!(
        strategic.message,
        " \"\" is invalid: patch: Invalid value: \"map[metadata:map[labels:invalid]]\": cannot restore map from string"
    );
    let merge = refused(
        &registry,
        &store,
        registry.patch(
            cm,
            ns,
            "c1",
            br#"{"metadata":{"labels":"invalid"}}"#,
            PatchType::Merge,
        ),
    )
    .await;
    assert_eq!(merge.code, 422);
    assert!(
        merge.message.ends_with(
            "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type map[string]string"
        ),
        "{}",
        merge.message
    );
    let json_patch = refused(
        &registry,
        &store,
        registry.patch(
            cm,
            ns,
            "c1",
            br#"[{"op":"add","path":"/metadata/labels","value":"invalid"}]"#,
            PatchType::Json,
        ),
    )
    .await;
    assert_eq!(json_patch.code, 422);
}

#[tokio::test]
async fn applies_and_subresource_writes_of_wrongly_typed_fields_are_refused() {
    let (registry, store, _dir) = common::registry_and_store().await;
    objects(&registry).await;
    let (cm, deployments) = (
        find("", "v1", "configmaps").unwrap(),
        find("apps", "v1", "deployments").unwrap(),
    );
    let ns = Some("default");
    let bad = json!({"metadata": {"name": "c1", "labels": "invalid"}});
    let applied = refused(&registry, &store, async {
        registry
            .apply(cm, ns, "c1", &bad, "test", true, &NoAdmission)
            .await
            .map(|(_, object)| object)
    })
    .await;
    assert_eq!(applied.code, 400);
    assert!(
        applied.message.starts_with("failed to create typed patch object (/c1; /v1, Kind=ConfigMap): .metadata.labels: expected map"),
        "{}",
        applied.message
    );
    // Subresources: status and scale.
    let status = refused(
        &registry,
        &store,
        registry.patch_subresource(
            deployments,
            ns,
            "web",
            ServedSubresource::Status,
            br#"{"status":{"replicas":"many"}}"#,
            PatchType::Merge,
        ),
    )
    .await;
    assert!(
        status
            .message
            .contains("DeploymentStatus.status.replicas of type int32"),
        "{}",
        status.message
    );
    let mut web = registry.get(deployments, ns, "web").await.unwrap();
    web["status"] = json!({"conditions": "none"});
    refused(
        &registry,
        &store,
        registry.update_subresource(deployments, ns, "web", ServedSubresource::Status, web),
    )
    .await;
    let scale = refused(
        &registry,
        &store,
        registry.patch_subresource(
            deployments,
            ns,
            "web",
            ServedSubresource::Scale,
            br#"{"spec":{"replicas":"3"}}"#,
            PatchType::StrategicMerge,
        ),
    )
    .await;
    assert!(
        scale.message.ends_with("unrecognized type: int32"),
        "{}",
        scale.message
    );
    let scale = refused(
        &registry,
        &store,
        registry.update_subresource(
            deployments,
            ns,
            "web",
            ServedSubresource::Scale,
            json!({"spec": {"replicas": "3"}}),
        ),
    )
    .await;
    assert_eq!(scale.code, 400, "{}", scale.message);
}

#[tokio::test]
async fn writes_that_change_nothing_store_nothing() {
    let (registry, store, _dir) = common::registry_and_store().await;
    objects(&registry).await;
    let (cm, deployments) = (
        find("", "v1", "configmaps").unwrap(),
        find("apps", "v1", "deployments").unwrap(),
    );
    let ns = Some("default");
    let tracked = registry.managed_by("kubectl");
    tracked
        .patch(
            cm,
            ns,
            "c1",
            br#"{"metadata":{"labels":{"a":"b"}}}"#,
            PatchType::StrategicMerge,
        )
        .await
        .unwrap();
    let c1 = registry.get(cm, ns, "c1").await.unwrap();
    let before = revision(&store).await;
    for (patch, kind) in [
        (
            &br#"{"metadata":{"labels":{"a":"b"}}}"#[..],
            PatchType::StrategicMerge,
        ),
        (br#"{"data":{"k":"v"}}"#, PatchType::Merge),
        (
            br#"[{"op":"replace","path":"/data/k","value":"v"}]"#,
            PatchType::Json,
        ),
    ] {
        let patched = tracked.patch(cm, ns, "c1", patch, kind).await.unwrap();
        assert_eq!(patched, c1, "a no-op patch returns the object as stored");
    }
    let same = tracked.update(cm, ns, "c1", c1.clone()).await.unwrap();
    assert_eq!(same, c1);
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "c1"}, "data": {"k": "v"}});
    registry
        .apply(cm, ns, "c1", &config, "applier", true, &NoAdmission)
        .await
        .unwrap();
    let applied = revision(&store).await;
    assert!(applied > before, "the first apply takes ownership");
    let (_, again) = registry
        .apply(cm, ns, "c1", &config, "applier", true, &NoAdmission)
        .await
        .unwrap();
    assert_eq!(
        revision(&store).await,
        applied,
        "the same apply again is a no-op"
    );
    let mut scale = registry
        .get_subresource(deployments, ns, "web", ServedSubresource::Scale)
        .await
        .unwrap();
    let web_before = revision(&store).await;
    registry
        .update_subresource(
            deployments,
            ns,
            "web",
            ServedSubresource::Scale,
            scale.clone(),
        )
        .await
        .unwrap();
    assert_eq!(revision(&store).await, web_before);
    // A no-op based on an old version is still a conflict.
    let mut based_on_old = again.clone();
    based_on_old["metadata"]["resourceVersion"] = json!("1");
    let conflict = registry
        .update(cm, ns, "c1", based_on_old)
        .await
        .unwrap_err();
    assert_eq!(conflict.code, 409);
    // A real change still writes.
    scale["spec"]["replicas"] = json!(2);
    registry
        .update_subresource(deployments, ns, "web", ServedSubresource::Scale, scale)
        .await
        .unwrap();
    assert!(revision(&store).await > web_before);
}
