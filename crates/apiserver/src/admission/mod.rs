//! Admission: what a write must pass, and what it gets, between authorization and storage. An
//! ordered chain of plugins, each in its own file and holding only what it reads (the registry,
//! the authorizer), in Kubernetes' order: NodeRestriction, RBAC escalation prevention,
//! TaintNodesByCondition, the requester of a CertificateSigningRequest, for pods Priority,
//! DefaultTolerationSeconds, ServiceAccount, LimitRanger and PodSecurity; then the mutating
//! admission webhooks, the ValidatingAdmissionPolicies, the validating admission webhooks
//! (`webhook`) and last ResourceQuota, as kube-apiserver orders MutatingAdmissionWebhook,
//! ValidatingAdmissionPolicy, ValidatingAdmissionWebhook and ResourceQuota.
//! Mutating plugins change the object in place; a refusal is the plugin's `Status` (403 with its
//! message) and nothing is written. Deletes pass only the plugins that judge them (validating
//! webhooks), with the object being deleted as the old object.

mod csr_requester;
mod default_tolerations;
mod limit_ranger;
mod node_restriction;
mod pod_security;
mod policy;
mod priority;
mod rbac_escalation;
mod resource_quota;
mod service_account;
mod taint_nodes;
pub mod warnings;

pub use policy::bound as policies_bound;
mod webhook;

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use k0rs_api::Status;
use k0rs_registry::{Filter, ReadAt, Registry, Resource};
use serde_json::Value;

use crate::authz::Authorizer;
use crate::user::UserInfo;

/// The write being admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
}

/// What a plugin knows of the write besides the object (Kubernetes' `admission.Attributes`).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub user: &'a UserInfo,
    pub resource: &'a Resource,
    /// The subresource written (`status`, …); `None` for the object itself.
    pub subresource: Option<&'a str>,
    pub namespace: Option<&'a str>,
    /// The name on the URL (empty or `None` for a create that names its object in the body).
    pub name: Option<&'a str>,
    pub operation: Operation,
    /// The stored object an update or delete replaces, when the caller has read it (webhooks
    /// read it themselves otherwise).
    pub old: Option<&'a Value>,
    /// `dryRun=All`: nothing will be stored.
    pub dry_run: bool,
    /// Where the warnings of webhooks go, for the response's `Warning` headers.
    pub warnings: Option<&'a Mutex<Vec<String>>>,
}

impl Request<'_> {
    /// Whether the object itself (not a subresource) of `resource` is written.
    fn is(&self, resource: &Resource) -> bool {
        self.subresource.is_none() && self.resource.is(resource)
    }
}

/// What a plugin's `admit` returns.
pub type Admitted<'a> = Pin<Box<dyn Future<Output = Result<(), Status>> + Send + 'a>>;

/// One admission plugin.
pub trait Plugin: Send + Sync {
    /// Kubernetes' name for it.
    fn name(&self) -> &'static str;

    /// Whether it has anything to say about `request`. Only the object itself unless a plugin
    /// says otherwise: subresource writes carry only part of an object.
    fn handles(&self, request: &Request<'_>) -> bool {
        request.subresource.is_none()
    }

    /// Whether it judges deletes too (their `object` is null, `Request::old` the deleted one).
    fn admits_deletes(&self) -> bool {
        false
    }

    /// Mutates `object` or refuses the write.
    fn admit<'a>(&'a self, request: &'a Request<'a>, object: &'a mut Value) -> Admitted<'a>;
}

/// The plugins, in the order they run.
pub struct Chain {
    plugins: Vec<Box<dyn Plugin>>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.plugins.iter().map(|p| p.name()).collect();
        f.debug_struct("Chain").field("plugins", &names).finish()
    }
}

impl Chain {
    /// Kubernetes' default chain, reading `registry` and asking `authorizer`.
    pub fn new(registry: &Registry, authorizer: &Authorizer) -> Self {
        let plugins: Vec<Box<dyn Plugin>> = vec![
            Box::new(node_restriction::NodeRestriction::new(registry.clone())),
            Box::new(rbac_escalation::RbacEscalation::new(
                registry.clone(),
                authorizer.clone(),
            )),
            Box::new(taint_nodes::TaintNodesByCondition),
            Box::new(csr_requester::CsrRequester),
            Box::new(priority::Priority::new(registry.clone())),
            Box::new(default_tolerations::DefaultTolerationSeconds),
            Box::new(service_account::ServiceAccount::new(registry.clone())),
            Box::new(limit_ranger::LimitRanger::new(registry.clone())),
            Box::new(pod_security::PodSecurity::new(registry.clone())),
            // Admission webhooks and policies, after the built-in plugins, before ResourceQuota.
            Box::new(webhook::MutatingWebhooks::new(registry.clone())),
            Box::new(policy::ValidatingAdmissionPolicy::new(registry.clone())),
            Box::new(webhook::ValidatingWebhooks::new(registry.clone())),
            Box::new(resource_quota::ResourceQuota::new(registry.clone())),
        ];
        Self { plugins }
    }

    /// Whether any plugin handles `request` (a caller may then skip reading the object).
    pub fn handles(&self, request: &Request<'_>) -> bool {
        self.plugins.iter().any(|p| Self::runs(p.as_ref(), request))
    }

    fn runs(plugin: &dyn Plugin, request: &Request<'_>) -> bool {
        plugin.handles(request)
            && (request.operation != Operation::Delete || plugin.admits_deletes())
    }

    /// Runs every plugin that handles `request` on `object`, in order; the first refusal stops
    /// the chain.
    pub async fn admit(&self, request: &Request<'_>, object: &mut Value) -> Result<(), Status> {
        for plugin in &self.plugins {
            if !Self::runs(plugin.as_ref(), request) {
                continue;
            }
            if let Err(status) = plugin.admit(request, object).await {
                tracing::debug!(
                    component = "apiserver",
                    plugin = plugin.name(),
                    reason = %status.message,
                    "admission refused"
                );
                return Err(status);
            }
        }
        Ok(())
    }
}

/// Whether any admission webhook is configured (a patch is then admitted as the object it
/// leaves, which costs a read otherwise spared).
pub async fn webhooks_configured(registry: &Registry) -> bool {
    webhook::any_configured(registry).await
}

/// The objects of `resource` in `namespace` as the latest write left them (empty if they cannot
/// be read: a plugin that counts or bounds them then has nothing to go by).
async fn items_in(registry: &Registry, resource: &Resource, namespace: &str) -> Vec<Value> {
    registry
        .list_at(
            resource,
            Some(namespace),
            &Filter::default(),
            ReadAt::Latest,
        )
        .await
        .map(|list| list["items"].as_array().cloned().unwrap_or_default())
        .unwrap_or_default()
}

/// A quantity as a refusal quotes it.
fn text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}
