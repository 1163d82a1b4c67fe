//! Namespace controllers: each namespace gets its `default` ServiceAccount (serviceaccount
//! controller) and the `kube-root-ca.crt` ConfigMap (root CA publisher); a namespace being deleted
//! is emptied of every namespaced object, then its `kubernetes` finalizer is removed so that the
//! API server deletes it (namespace controller).

use std::sync::Arc;
use std::time::{Duration, Instant};

use k0rs_runtime::run_controller;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, DynamicObject, ListParams, PostParams};
use kube::discovery::{ApiCapabilities, ApiResource, Discovery, Scope, verbs};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client};
use tokio::sync::Mutex;

const ROOT_CA: &str = "kube-root-ca.crt";
/// How often a namespace being emptied is looked at again.
const EMPTYING: Duration = Duration::from_secs(1);
/// How long the list of resource types is reused.
const DISCOVERY_TTL: Duration = Duration::from_secs(10);

struct Context {
    client: Client,
    root_ca_pem: String,
    discovery: Mutex<Option<(Instant, Arc<Vec<ApiResource>>)>>,
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct Error(#[from] kube::Error);

/// Runs the three namespace controllers until dropped.
pub async fn run(client: Client, root_ca_pem: String) {
    let context = Arc::new(Context {
        client: client.clone(),
        root_ca_pem,
        discovery: Mutex::new(None),
    });
    let in_namespace = |meta: &ObjectMeta| {
        meta.namespace
            .as_ref()
            .map(|ns| ObjectRef::<Namespace>::new(ns))
    };
    let controller = Controller::new(
        Api::<Namespace>::all(client.clone()),
        watcher::Config::default(),
    )
    .watches(
        Api::<ServiceAccount>::all(client.clone()),
        watcher::Config::default().fields("metadata.name=default"),
        move |sa| in_namespace(&sa.metadata),
    )
    .watches(
        Api::<ConfigMap>::all(client),
        watcher::Config::default().fields(&format!("metadata.name={ROOT_CA}")),
        move |cm| in_namespace(&cm.metadata),
    );
    run_controller("namespace-controller", controller, reconcile, context).await;
}

async fn reconcile(namespace: Arc<Namespace>, context: Arc<Context>) -> Result<Action, Error> {
    let name = namespace.metadata.name.clone().unwrap_or_default();
    if namespace.metadata.deletion_timestamp.is_some() {
        return empty(&context, &name).await;
    }
    let client = &context.client;
    let accounts = Api::<ServiceAccount>::namespaced(client.clone(), &name);
    if accounts.get_opt("default").await?.is_none() {
        let account = ServiceAccount {
            metadata: ObjectMeta {
                name: Some("default".into()),
                ..ObjectMeta::default()
            },
            ..ServiceAccount::default()
        };
        ignore_conflict(accounts.create(&PostParams::default(), &account).await)?;
    }
    let maps = Api::<ConfigMap>::namespaced(client.clone(), &name);
    let data =
        std::collections::BTreeMap::from([("ca.crt".to_owned(), context.root_ca_pem.clone())]);
    match maps.get_opt(ROOT_CA).await? {
        Some(map) if map.data.as_ref() == Some(&data) => {}
        Some(mut map) => {
            map.data = Some(data);
            ignore_conflict(maps.replace(ROOT_CA, &PostParams::default(), &map).await)?;
        }
        None => {
            let map = ConfigMap {
                metadata: ObjectMeta {
                    name: Some(ROOT_CA.into()),
                    annotations: Some(
                        [("kubernetes.io/description".to_owned(), "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.".to_owned())].into(),
                    ),
                    ..ObjectMeta::default()
                },
                data: Some(data),
                ..ConfigMap::default()
            };
            ignore_conflict(maps.create(&PostParams::default(), &map).await)?;
        }
    }
    Ok(Action::await_change())
}

/// Another writer got there first: the next event brings its result.
fn ignore_conflict<T>(result: Result<T, kube::Error>) -> Result<(), kube::Error> {
    match result {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

/// The namespaced resource types that can be listed and deleted.
async fn namespaced_resources(context: &Context) -> Result<Arc<Vec<ApiResource>>, kube::Error> {
    let mut cached = context.discovery.lock().await;
    if let Some((at, resources)) = cached.as_ref()
        && at.elapsed() < DISCOVERY_TTL
    {
        return Ok(resources.clone());
    }
    let discovery = Discovery::new(context.client.clone()).run().await?;
    let resources: Vec<ApiResource> = discovery
        .groups()
        .flat_map(kube::discovery::ApiGroup::recommended_resources)
        .filter(|(_, caps): &(ApiResource, ApiCapabilities)| {
            caps.scope == Scope::Namespaced
                && caps.supports_operation(verbs::LIST)
                && caps.supports_operation(verbs::DELETE_COLLECTION)
        })
        .map(|(resource, _)| resource)
        .collect();
    let resources = Arc::new(resources);
    *cached = Some((Instant::now(), resources.clone()));
    Ok(resources)
}

/// Deletes everything in a namespace being deleted; once nothing is left, finalizes it.
async fn empty(context: &Context, namespace: &str) -> Result<Action, Error> {
    let mut remaining = 0;
    for resource in namespaced_resources(context).await?.iter() {
        let api =
            Api::<DynamicObject>::namespaced_with(context.client.clone(), namespace, resource);
        let left = api.list_metadata(&ListParams::default()).await?.items.len();
        if left == 0 {
            continue;
        }
        remaining += left;
        match api
            .delete_collection(&DeleteParams::background(), &ListParams::default())
            .await
        {
            Ok(_) | Err(kube::Error::Api(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if remaining > 0 {
        return Ok(Action::requeue(EMPTYING));
    }
    finalize(context, namespace).await?;
    Ok(Action::await_change())
}

/// Removes the `kubernetes` finalizer through `namespaces/<name>/finalize`.
async fn finalize(context: &Context, namespace: &str) -> Result<(), kube::Error> {
    let api = Api::<Namespace>::all(context.client.clone());
    let Some(mut current) = api.get_opt(namespace).await? else {
        return Ok(());
    };
    let Some(spec) = current.spec.as_mut() else {
        return Ok(());
    };
    let before = spec.finalizers.as_ref().map_or(0, Vec::len);
    spec.finalizers
        .get_or_insert_with(Vec::new)
        .retain(|f| f != "kubernetes");
    if spec.finalizers.as_ref().map_or(0, Vec::len) == before {
        return Ok(());
    }
    let body = serde_json::to_vec(&current).expect("JSON serialises");
    ignore_conflict(
        api.replace_subresource("finalize", namespace, &PostParams::default(), body)
            .await,
    )
}
