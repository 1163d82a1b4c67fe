//! Running a kube-runtime [`Controller`] the way every k0rs controller runs: its reconcile
//! errors are logged and the object is tried again after its own exponential backoff
//! ([`Backoff`], client-go's workqueue rate limiter), which a success resets; each controller
//! has client-go's workqueue metrics under its name (`metrics`). The controller itself (what it
//! watches, what triggers it) is built by the caller.

mod backoff;
pub mod metrics;
#[cfg(test)]
mod tests;

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use futures::StreamExt as _;
use kube::Resource;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use serde::de::DeserializeOwned;

pub use backoff::{BASE, Backoff, MAX};

/// Runs `controller` with `reconcile` until its watches end (they retry on errors: until the
/// future is dropped). A failed reconcile is logged at debug level as `component`'s and retried
/// after the object's backoff; a watch change to the object still triggers it at once, as a
/// client-go workqueue takes a new event regardless of the item's rate limit.
pub async fn run_controller<K, Ctx, Reconcile, Fut, E>(
    component: &'static str,
    controller: Controller<K>,
    mut reconcile: Reconcile,
    context: Arc<Ctx>,
) where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    Ctx: Send + Sync + 'static,
    Reconcile: FnMut(Arc<K>, Arc<Ctx>) -> Fut,
    Fut: Future<Output = Result<Action, E>> + Send + 'static,
    E: std::error::Error + Send + 'static,
{
    let backoff = Arc::new(Backoff::<ObjectRef<K>>::default());
    let failures = backoff.clone();
    let queue = metrics::Queue::of(component);
    let retries = queue.clone();
    controller
        .run(
            move |object, context| {
                let key = ObjectRef::from_obj(object.as_ref());
                let backoff = backoff.clone();
                let work = queue.started();
                let reconciled = reconcile(object, context);
                async move {
                    let result = reconciled.await;
                    drop(work);
                    if result.is_ok() {
                        backoff.succeeded(&key);
                    }
                    result
                }
            },
            move |object, error, _| {
                let key = ObjectRef::from_obj(object.as_ref());
                let delay = failures.failed(&key);
                retries.retried();
                tracing::debug!(component, object = %key, %error, ?delay, "retrying");
                Action::requeue(delay)
            },
            context,
        )
        .for_each(|_| std::future::ready(()))
        .await;
}
