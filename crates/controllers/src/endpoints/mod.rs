//! The endpoints and endpointslice controllers: for every Service with a selector, the pods it
//! selects that have an IP, with their readiness and the service's ports resolved against each
//! pod (named target ports differ per pod), written as the legacy Endpoints object and as
//! EndpointSlices (at most 100 endpoints each). Services without a selector are left to whoever
//! writes their endpoints (the API server keeps `default/kubernetes`).

mod legacy;
mod members;
mod slices;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k0rs_runtime::informer::{self, Shared};
use k0rs_runtime::run_controller;
use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use kube::api::DeleteParams;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Client, ResourceExt as _};

struct Context {
    client: Client,
    pods: Shared<Pod>,
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error(#[from] kube::Error);

/// Runs both controllers until dropped.
pub async fn run(client: Client, pods: Shared<Pod>) {
    let (services, services_informer) = informer::shared(Api::<Service>::all(client.clone()));
    let context = Arc::new(Context {
        client: client.clone(),
        pods: pods.clone(),
    });
    // A pod change may concern any service of its namespace (its labels may have just stopped
    // matching one): all of them look again.
    let triggers = pods.neighbours(services.store.clone());
    let controller = Controller::for_shared_stream(services.changes(), services.store.clone())
        .reconcile_on(triggers);
    tokio::join!(
        services_informer,
        run_controller("endpoints-controller", controller, reconcile, context),
        remove_when_deleted(client, services)
    );
}

async fn reconcile(service: Arc<Service>, context: Arc<Context>) -> Result<Action, Error> {
    if !selects(&service) {
        return Ok(Action::await_change());
    }
    informer::ready(&context.pods.store).await;
    let members = members::of(&service, &context.pods.store.state());
    legacy::write(&context.client, &service, &members).await?;
    slices::write(&context.client, &service, &members).await?;
    Ok(Action::requeue(Duration::from_mins(1)))
}

/// Whether the controllers manage the service's endpoints: it has a selector.
fn selects(service: &Service) -> bool {
    service
        .spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .is_some_and(|s| !s.is_empty())
}

/// A deleted service's Endpoints go with it (its slices are its dependents: the garbage
/// collector removes them).
async fn remove_when_deleted(client: Client, services: Shared<Service>) {
    let mut changes = std::pin::pin!(services.changes());
    while let Some(service) = changes.next().await {
        if !selects(&service)
            || services
                .store
                .get(&ObjectRef::from_obj(service.as_ref()))
                .is_some()
        {
            continue;
        }
        let api =
            Api::<Endpoints>::namespaced(client.clone(), &service.namespace().unwrap_or_default());
        match api
            .delete(&service.name_any(), &DeleteParams::default())
            .await
        {
            Ok(_) | Err(kube::Error::Api(_)) => {}
            Err(e) => {
                tracing::debug!(component = "endpoints-controller", service = %service.name_any(), error = %e, "endpoints not deleted");
            }
        }
    }
}
