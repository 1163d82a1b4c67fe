//! Admission webhooks (MutatingAdmissionWebhook and ValidatingAdmissionWebhook): the webhooks of
//! every Mutating/ValidatingWebhookConfiguration, in the order of the configurations' names and
//! then their position, are called for the requests their rules and selectors match. Mutating
//! webhooks run one after the other and may patch the object (JSONPatch), those with
//! `reinvocationPolicy: IfNeeded` once more when a later one changed it; validating webhooks
//! only allow or deny. A call that fails denies the request (failurePolicy Fail) or is skipped
//! (Ignore). Webhook configurations themselves are never sent to webhooks, so a broken webhook
//! can always be removed.

mod call;
mod config;
mod matching;
mod review;

use k0rs_api::Status;
use k0rs_api::patch::PatchType;
use k0rs_registry::{Filter, Registry, Resource, resources};
use serde_json::Value;

use super::{Admitted, Operation, Plugin, Request};
use config::Webhook;
use matching::Attributes;

/// Calls the webhooks of one kind of configuration.
struct Dispatcher {
    registry: Registry,
    configurations: &'static Resource,
}

/// What the selectors of a request's webhooks read, looked up once per request.
#[derive(Default)]
struct Lookups {
    /// Whether the stored object was read (into `old`, if it exists).
    old_read: bool,
    old: Option<Value>,
    namespace_labels: Option<Value>,
}

impl Dispatcher {
    /// The webhooks of every configuration, ordered by configuration name, then position.
    async fn webhooks(&self) -> Vec<Webhook> {
        let list = self
            .registry
            .list(self.configurations, None, &Filter::default())
            .await
            .map(|list| list["items"].as_array().cloned().unwrap_or_default())
            .unwrap_or_default();
        let mut webhooks: Vec<Webhook> = list.iter().flat_map(Webhook::all_of).collect();
        webhooks.sort_by(|a, b| a.configuration.cmp(&b.configuration));
        webhooks
    }

    /// The stored object an update or delete replaces, when the caller did not hand it over.
    async fn old<'a>(&self, request: &Request<'a>, lookups: &'a mut Lookups) -> Option<&'a Value> {
        if let Some(old) = request.old {
            return Some(old);
        }
        if request.operation == Operation::Create {
            return None;
        }
        if !lookups.old_read {
            let name = request.name.unwrap_or_default();
            lookups.old = self
                .registry
                .get(request.resource, request.namespace, name)
                .await
                .ok();
            lookups.old_read = true;
        }
        lookups.old.as_ref()
    }

    /// Whether the webhook's namespaceSelector selects the request's namespace.
    async fn namespace_selected(
        &self,
        webhook: &Webhook,
        request: &Request<'_>,
        object: Option<&Value>,
        lookups: &mut Lookups,
    ) -> bool {
        if matching::is_empty(&webhook.namespace_selector) {
            return true;
        }
        let resource = request.resource;
        if resource.is(resources::NAMESPACES) {
            // A Namespace is selected by its own labels.
            let own = match object.filter(|o| !o.is_null()) {
                Some(object) => object["metadata"]["labels"].clone(),
                None => self
                    .old(request, lookups)
                    .await
                    .map(|o| o["metadata"]["labels"].clone())
                    .unwrap_or_default(),
            };
            return matching::selects(&webhook.namespace_selector, &own);
        }
        // Cluster-scoped objects are in no namespace the selector could exclude.
        let Some(namespace) = request.namespace.filter(|_| resource.namespaced) else {
            return true;
        };
        if lookups.namespace_labels.is_none() {
            let labels = self
                .registry
                .get(resources::NAMESPACES, None, namespace)
                .await
                .map(|ns| ns["metadata"]["labels"].clone())
                .unwrap_or_default();
            lookups.namespace_labels = Some(labels);
        }
        let labels = lookups.namespace_labels.as_ref().expect("just set");
        matching::selects(&webhook.namespace_selector, labels)
    }

    /// Whether `webhook` is to be called for the request.
    async fn matches(
        &self,
        webhook: &Webhook,
        request: &Request<'_>,
        object: Option<&Value>,
        lookups: &mut Lookups,
    ) -> bool {
        let resource = request.resource;
        let attributes = Attributes {
            group: resource.group,
            version: resource.version,
            resource: resource.plural,
            subresource: request.subresource.unwrap_or_default(),
            operation: review::operation_name(request.operation),
            namespaced: resource.namespaced,
        };
        if !matching::rules_match(webhook, &attributes) {
            return false;
        }
        if !self
            .namespace_selected(webhook, request, object, lookups)
            .await
        {
            return false;
        }
        let old = self.old(request, lookups).await;
        matching::object_selected(webhook, object.filter(|o| !o.is_null()), old)
    }

    /// Calls `webhook`; `Ok(None)` when its call failed and its failurePolicy ignores that.
    async fn call(
        &self,
        webhook: &Webhook,
        request: &Request<'_>,
        object: Option<&Value>,
        old: Option<&Value>,
    ) -> Result<Option<review::Answer>, Status> {
        if request.dry_run && !webhook.dry_run_safe {
            return Err(review::dry_run_unsupported(&webhook.name));
        }
        let uid = uuid::Uuid::new_v4().to_string();
        let with_old = Request { old, ..*request };
        let sent = review::review(webhook, &with_old, object, &uid);
        let failure = match call::call(&self.registry, webhook, &sent).await {
            Ok(response) => match review::answer(webhook, &response, &uid) {
                Ok(answer) => {
                    if let Some(sink) = request.warnings {
                        sink.lock()
                            .expect("warnings poisoned")
                            .extend(answer.warnings.iter().cloned());
                    }
                    return Ok(Some(answer));
                }
                Err(Ok(denied)) => return Err(denied),
                Err(Err(why)) => why,
            },
            Err(why) => why,
        };
        if webhook.ignore_failure {
            tracing::warn!(
                component = "apiserver",
                webhook = %webhook.name,
                error = %failure,
                "failed calling webhook, failing open"
            );
            return Ok(None);
        }
        Err(review::call_failed(&webhook.name, &failure))
    }
}

/// Whether any Mutating- or ValidatingWebhookConfiguration exists.
pub async fn any_configured(registry: &Registry) -> bool {
    for configurations in [
        resources::MUTATING_WEBHOOK_CONFIGURATIONS,
        resources::VALIDATING_WEBHOOK_CONFIGURATIONS,
    ] {
        let list = registry
            .list(configurations, None, &Filter::default())
            .await
            .unwrap_or_default();
        if list["items"]
            .as_array()
            .is_some_and(|items| !items.is_empty())
        {
            return true;
        }
    }
    false
}

/// Whether `resource` is one webhooks never see: their own configurations.
fn exempt(resource: &Resource) -> bool {
    resource.group == resources::MUTATING_WEBHOOK_CONFIGURATIONS.group
}

/// MutatingAdmissionWebhook.
pub struct MutatingWebhooks(Dispatcher);

impl MutatingWebhooks {
    pub fn new(registry: Registry) -> Self {
        Self(Dispatcher {
            registry,
            configurations: resources::MUTATING_WEBHOOK_CONFIGURATIONS,
        })
    }

    /// Calls `webhook` and applies its patch to `object`; whether the object changed.
    async fn mutate(
        &self,
        webhook: &Webhook,
        request: &Request<'_>,
        object: &mut Value,
        lookups: &mut Lookups,
    ) -> Result<bool, Status> {
        let old = self.0.old(request, lookups).await.cloned();
        let Some(answer) = self
            .0
            .call(webhook, request, Some(&*object), old.as_ref())
            .await?
        else {
            return Ok(false);
        };
        let Some(patch) = answer.patch else {
            return Ok(false);
        };
        let patched = k0rs_api::patch::apply(object, &patch, PatchType::Json).map_err(|e| {
            Status::internal(format!(
                "Internal error occurred: the patch of webhook \"{}\" does not apply: {}",
                webhook.name, e.message
            ))
        })?;
        let changed = patched != *object;
        *object = patched;
        Ok(changed)
    }
}

impl Plugin for MutatingWebhooks {
    fn name(&self) -> &'static str {
        "MutatingAdmissionWebhook"
    }

    fn handles(&self, request: &Request<'_>) -> bool {
        request.subresource.is_none() && !exempt(request.resource)
    }

    fn admit<'a>(&'a self, request: &'a Request<'a>, object: &'a mut Value) -> Admitted<'a> {
        Box::pin(async move {
            let webhooks = self.0.webhooks().await;
            if webhooks.is_empty() {
                return Ok(());
            }
            let mut lookups = Lookups::default();
            // Which webhooks were called, and the last one that changed the object.
            let mut called = Vec::new();
            let mut last_change = None;
            for (i, webhook) in webhooks.iter().enumerate() {
                if !self
                    .0
                    .matches(webhook, request, Some(&*object), &mut lookups)
                    .await
                {
                    continue;
                }
                called.push(i);
                if self.mutate(webhook, request, object, &mut lookups).await? {
                    last_change = Some(i);
                }
            }
            // IfNeeded: once more for those a later webhook changed the object after.
            let Some(last_change) = last_change else {
                return Ok(());
            };
            for i in called {
                let webhook = &webhooks[i];
                if webhook.reinvoke && i < last_change {
                    self.mutate(webhook, request, object, &mut lookups).await?;
                }
            }
            Ok(())
        })
    }
}

/// ValidatingAdmissionWebhook: the matching webhooks may only allow or deny; deletes too.
pub struct ValidatingWebhooks(Dispatcher);

impl ValidatingWebhooks {
    pub fn new(registry: Registry) -> Self {
        Self(Dispatcher {
            registry,
            configurations: resources::VALIDATING_WEBHOOK_CONFIGURATIONS,
        })
    }
}

impl Plugin for ValidatingWebhooks {
    fn name(&self) -> &'static str {
        "ValidatingAdmissionWebhook"
    }

    fn handles(&self, request: &Request<'_>) -> bool {
        request.subresource.is_none() && !exempt(request.resource)
    }

    fn admits_deletes(&self) -> bool {
        true
    }

    fn admit<'a>(&'a self, request: &'a Request<'a>, object: &'a mut Value) -> Admitted<'a> {
        Box::pin(async move {
            let webhooks = self.0.webhooks().await;
            if webhooks.is_empty() {
                return Ok(());
            }
            let mut lookups = Lookups::default();
            let object = Some(&*object).filter(|o| !o.is_null());
            for webhook in &webhooks {
                if !self.0.matches(webhook, request, object, &mut lookups).await {
                    continue;
                }
                let old = self.0.old(request, &mut lookups).await.cloned();
                self.0.call(webhook, request, object, old.as_ref()).await?;
            }
            Ok(())
        })
    }
}
