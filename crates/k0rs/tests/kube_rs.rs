//! kube-rs against `k0rs controller`: a watcher feeding a reflector, a small controller that
//! keeps a `<name>-mirror` copy of every ConfigMap labelled `mirror=yes`, and metadata-only
//! answers on every verb.

mod harness;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use harness::controller::Controller;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::{WatchStreamExt as _, reflector, watcher};
use kube::{Client, Config, ResourceExt as _};

async fn client(controller: &Controller) -> Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(controller.admin()).unwrap();
    let config =
        Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
            .await
            .unwrap();
    Client::try_from(config).unwrap()
}

fn config_map(name: &str, labels: &[(&str, &str)], data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            ..ObjectMeta::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        ),
        ..ConfigMap::default()
    }
}

/// Polls `check` every 50 ms for up to 30 s.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reflector_follows_configmaps() {
    let controller = Controller::start();
    let client = client(&controller).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    api.create(
        &PostParams::default(),
        &config_map("before", &[("app", "r")], &[]),
    )
    .await
    .unwrap();

    let (reader, writer) = reflector::store();
    let config = watcher::Config::default().labels("app=r");
    let stream = reflector(writer, watcher(api.clone(), config)).applied_objects();
    let task = tokio::spawn(stream.for_each(|_| async {}));
    reader.wait_until_ready().await.unwrap();

    for name in ["one", "two"] {
        api.create(
            &PostParams::default(),
            &config_map(name, &[("app", "r")], &[]),
        )
        .await
        .unwrap();
    }
    api.create(
        &PostParams::default(),
        &config_map("other", &[("app", "x")], &[]),
    )
    .await
    .unwrap();
    let names = || {
        let mut names: Vec<String> = reader.state().iter().map(|cm| cm.name_any()).collect();
        names.sort();
        names
    };
    eventually("three ConfigMaps in the store", async || {
        names() == ["before", "one", "two"]
    })
    .await;
    api.delete("one", &DeleteParams::default()).await.unwrap();
    eventually("the deleted one gone", async || {
        names() == ["before", "two"]
    })
    .await;
    task.abort();
}

struct Context {
    api: Api<ConfigMap>,
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct Error(#[from] kube::Error);

/// Keeps `<name>-mirror` a copy of `<name>`'s data.
async fn reconcile(source: Arc<ConfigMap>, context: Arc<Context>) -> Result<Action, Error> {
    let mirror = ConfigMap {
        metadata: ObjectMeta {
            name: Some(format!("{}-mirror", source.name_any())),
            ..ObjectMeta::default()
        },
        data: source.data.clone(),
        ..ConfigMap::default()
    };
    let params = PatchParams::default();
    let name = mirror.name_any();
    // Server-side apply arrives with API server II; a merge patch or a create does the job here.
    match context.api.get_opt(&name).await? {
        Some(_) => {
            context
                .api
                .patch(
                    &name,
                    &params,
                    &Patch::Merge(&serde_json::json!({"data": mirror.data})),
                )
                .await?;
        }
        None => {
            context.api.create(&PostParams::default(), &mirror).await?;
        }
    }
    Ok(Action::await_change())
}

fn on_error(_: Arc<ConfigMap>, _: &Error, _: Arc<Context>) -> Action {
    Action::requeue(Duration::from_millis(200))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_reconciles_what_it_watches() {
    let controller = Controller::start();
    let client = client(&controller).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let context = Arc::new(Context { api: api.clone() });
    let watched = watcher::Config::default().labels("mirror=yes");
    let task = tokio::spawn(
        kube::runtime::Controller::new(api.clone(), watched)
            .run(reconcile, on_error, context)
            .for_each(|_| async {}),
    );

    api.create(
        &PostParams::default(),
        &config_map("settings", &[("mirror", "yes")], &[("a", "1")]),
    )
    .await
    .unwrap();
    let mirrored = async |expected: &str| {
        api.get_opt("settings-mirror")
            .await
            .unwrap()
            .and_then(|cm| cm.data)
            .is_some_and(|data| data == BTreeMap::from([("a".to_owned(), expected.to_owned())]))
    };
    eventually("the mirror created", async || mirrored("1").await).await;
    api.patch(
        "settings",
        &PatchParams::default(),
        &Patch::Merge(&serde_json::json!({"data": {"a": "2"}})),
    )
    .await
    .unwrap();
    eventually("the mirror updated", async || mirrored("2").await).await;
    task.abort();
}

/// kube-rs's metadata API and its metadata Accept on the other verbs: every answer is the
/// object's `PartialObjectMetadata` (its data left out), lists a `PartialObjectMetadataList`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_only_answers_on_every_verb() {
    const METADATA: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
    let controller = Controller::start();
    let client = client(&controller).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    // A finalizer keeps the object through its delete, so that the delete answers with it.
    let mut held = config_map("meta", &[("kind", "meta")], &[("secret", "payload")]);
    held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    let mut create = kube::core::Request::new(api.resource_url())
        .create(&PostParams::default(), serde_json::to_vec(&held).unwrap())
        .unwrap();
    create
        .headers_mut()
        .insert("accept", METADATA.parse().unwrap());
    let created = partial(&client.request_text(create).await.unwrap());
    assert_eq!(created["metadata"]["name"], "meta");

    let got = api.get_metadata("meta").await.unwrap();
    assert_eq!(got.types.unwrap().kind, "PartialObjectMetadata");
    let listed = api
        .list_metadata(&kube::api::ListParams::default().labels("kind=meta"))
        .await
        .unwrap();
    assert_eq!(listed.types.kind, "PartialObjectMetadataList");
    assert_eq!(
        listed.items[0].types.as_ref().unwrap().kind,
        "PartialObjectMetadata"
    );

    let patch = serde_json::json!({"metadata": {"labels": {"patched": "yes"}}});
    let patched = api
        .patch_metadata("meta", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    assert_eq!(patched.types.unwrap().kind, "PartialObjectMetadata");
    assert_eq!(patched.metadata.labels.unwrap()["patched"], "yes");
    let raw_patch = kube::core::Request::new(api.resource_url())
        .patch_metadata("meta", &PatchParams::default(), &Patch::Merge(&patch))
        .unwrap();
    partial(&client.request_text(raw_patch).await.unwrap());

    let mut current = api.get("meta").await.unwrap();
    current.metadata.annotations = Some([("updated".into(), "yes".into())].into());
    let mut update = kube::core::Request::new(api.resource_url())
        .replace(
            "meta",
            &PostParams::default(),
            serde_json::to_vec(&current).unwrap(),
        )
        .unwrap();
    update
        .headers_mut()
        .insert("accept", METADATA.parse().unwrap());
    let updated = partial(&client.request_text(update).await.unwrap());
    assert_eq!(updated["metadata"]["annotations"]["updated"], "yes");

    let mut delete = kube::core::Request::new(api.resource_url())
        .delete("meta", &DeleteParams::default())
        .unwrap();
    delete
        .headers_mut()
        .insert("accept", METADATA.parse().unwrap());
    let deleting = partial(&client.request_text(delete).await.unwrap());
    assert!(
        deleting["metadata"]["deletionTimestamp"].is_string(),
        "{deleting}"
    );
    let release = serde_json::json!({"metadata": {"finalizers": null}});
    api.patch_metadata("meta", &PatchParams::default(), &Patch::Merge(&release))
        .await
        .unwrap();
    eventually("the configmap gone", async || {
        api.get_metadata_opt("meta").await.unwrap().is_none()
    })
    .await;
}

/// An answer, which must be a `PartialObjectMetadata` without the object's data.
fn partial(text: &str) -> serde_json::Value {
    let answer: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(answer["kind"], "PartialObjectMetadata", "{answer}");
    assert_eq!(answer["apiVersion"], "meta.k8s.io/v1", "{answer}");
    assert_eq!(answer.get("data"), None, "{answer}");
    answer
}
