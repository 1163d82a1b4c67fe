//! ValidatingAdmissionPolicy: the bindings (`ValidatingAdmissionPolicyBinding`) of policies
//! whose constraints select a write run the policies' CEL validations on it, with `object`,
//! `oldObject`, `request`, `params` (the binding's `paramRef` to an object of the policy's
//! `paramKind`), `namespaceObject` and `variables`. A failure is acted on as the binding says:
//! `Deny` refuses the write with kube-apiserver's message, `Warn` adds a `Warning` to the
//! answer; `Audit` is not acted on (k0rs keeps no audit log).

mod matching;
mod validate;

use k0rs_api::{Status, StatusCause, StatusDetails, StatusReason};
use k0rs_registry::{Filter, Registry, Resource, resources};
use serde_json::{Value, json};

use super::{Admitted, Operation, Plugin, Request};

pub struct ValidatingAdmissionPolicy {
    registry: Registry,
}

impl ValidatingAdmissionPolicy {
    pub fn new(registry: Registry) -> Self {
        Self { registry }
    }
}

impl Plugin for ValidatingAdmissionPolicy {
    fn name(&self) -> &'static str {
        "ValidatingAdmissionPolicy"
    }

    fn admit<'a>(&'a self, request: &'a Request<'a>, object: &'a mut Value) -> Admitted<'a> {
        Box::pin(self.validate(request, object))
    }
}

/// Whether any policy is bound: patches are then admitted too (as the object they leave), so a
/// patch cannot get past a policy that an update could not.
pub async fn bound(registry: &Registry) -> bool {
    registry
        .list(
            resources::VALIDATING_ADMISSION_POLICY_BINDINGS,
            None,
            &Filter::default(),
        )
        .await
        .is_ok_and(|list| list["items"].as_array().is_some_and(|i| !i.is_empty()))
}

/// The write as matching and expressions see it.
pub(super) struct Write<'a> {
    resource: &'a Resource,
    /// `CREATE` or `UPDATE`.
    operation: &'static str,
    name: &'a str,
    object: &'a Value,
    namespace_object: Option<&'a Value>,
}

impl ValidatingAdmissionPolicy {
    async fn items(&self, resource: &Resource, namespace: Option<&str>) -> Vec<Value> {
        self.registry
            .list(resource, namespace, &Filter::default())
            .await
            .map(|list| list["items"].as_array().cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    async fn validate(&self, request: &Request<'_>, object: &Value) -> Result<(), Status> {
        let bindings = self
            .items(resources::VALIDATING_ADMISSION_POLICY_BINDINGS, None)
            .await;
        if bindings.is_empty() {
            return Ok(());
        }
        let policies = self
            .items(resources::VALIDATING_ADMISSION_POLICIES, None)
            .await;
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        // (Deletes do not reach this plugin: it does not admit them.)
        let old = match request.operation {
            Operation::Update | Operation::Delete => self
                .registry
                .get(request.resource, request.namespace, name)
                .await
                .ok(),
            Operation::Create => None,
        };
        let namespace_object = match request.namespace {
            Some(namespace) => self
                .registry
                .get(resources::NAMESPACES, None, namespace)
                .await
                .ok(),
            None => None,
        };
        let write = Write {
            resource: request.resource,
            operation: match request.operation {
                Operation::Create => "CREATE",
                Operation::Update => "UPDATE",
                Operation::Delete => "DELETE",
            },
            name,
            object,
            namespace_object: namespace_object.as_ref(),
        };
        let request_json = request_value(request, &write);
        let old = old.unwrap_or(Value::Null);
        let namespace_json = namespace_object.clone().unwrap_or(Value::Null);
        let inputs = validate::Inputs {
            object,
            old_object: &old,
            request: &request_json,
            namespace_object: &namespace_json,
        };
        for binding in &bindings {
            let policy_name = binding["spec"]["policyName"].as_str().unwrap_or_default();
            let Some(policy) = policies
                .iter()
                .find(|p| p["metadata"]["name"] == policy_name)
            else {
                continue;
            };
            if !matching::matches(&policy["spec"]["matchConstraints"], &write)
                || !matching::matches(&binding["spec"]["matchResources"], &write)
            {
                continue;
            }
            let failures = match self.params(policy, binding, request).await {
                Params::None => validate::evaluate(&policy["spec"], &inputs, &Value::Null),
                Params::Found(params) => params
                    .iter()
                    .flat_map(|p| validate::evaluate(&policy["spec"], &inputs, p))
                    .collect(),
                Params::Skip => Vec::new(),
                Params::Missing(message) => vec![validate::Failure {
                    message,
                    reason: "Invalid".into(),
                }],
            };
            let binding_name = binding["metadata"]["name"].as_str().unwrap_or_default();
            let actions = &binding["spec"]["validationActions"];
            let has = |action: &str| {
                actions
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == action))
            };
            if has("Warn") {
                for failure in &failures {
                    super::warnings::add(format!(
                        "Validation failed for ValidatingAdmissionPolicy '{policy_name}' with binding '{binding_name}': {}",
                        failure.message
                    ));
                }
            }
            if has("Deny")
                && let Some(failure) = failures.first()
            {
                return Err(denied(request, name, policy_name, binding_name, failure));
            }
        }
        Ok(())
    }

    /// The params of a binding: none when the policy has no `paramKind`.
    async fn params(&self, policy: &Value, binding: &Value, request: &Request<'_>) -> Params {
        let kind = &policy["spec"]["paramKind"];
        let reference = &binding["spec"]["paramRef"];
        if kind.is_null() || reference.is_null() {
            return Params::None;
        }
        let missing = || {
            if reference["parameterNotFoundAction"] == "Allow" {
                Params::Skip
            } else {
                Params::Missing(
                    "no params found for policy binding with `Deny` parameterNotFoundAction".into(),
                )
            }
        };
        let api_version = kind["apiVersion"].as_str().unwrap_or_default();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let Some(resource) = k0rs_registry::resources_of(group, version)
            .find(|r| Some(r.kind) == kind["kind"].as_str())
        else {
            return missing();
        };
        // A namespaced param without a namespace of its own is looked up in the request's.
        let namespace = if resource.namespaced {
            reference["namespace"]
                .as_str()
                .filter(|n| !n.is_empty())
                .or(request.namespace)
        } else {
            None
        };
        let found = if let Some(name) = reference["name"].as_str().filter(|n| !n.is_empty()) {
            self.registry
                .get(resource, namespace, name)
                .await
                .ok()
                .into_iter()
                .collect()
        } else {
            self.items(resource, namespace)
                .await
                .into_iter()
                .filter(|p| {
                    matching::selector_matches(&reference["selector"], &p["metadata"]["labels"])
                })
                .collect::<Vec<_>>()
        };
        if found.is_empty() {
            missing()
        } else {
            Params::Found(found)
        }
    }
}

enum Params {
    /// The policy takes none.
    None,
    Found(Vec<Value>),
    /// None found, and the binding allows that: the policy does not run.
    Skip,
    /// None found, and the binding denies that.
    Missing(String),
}

/// The `request` variable (an `AdmissionRequest`'s fields).
fn request_value(request: &Request<'_>, write: &Write<'_>) -> Value {
    let resource = request.resource;
    json!({
        "kind": {"group": resource.group, "version": resource.version, "kind": resource.kind},
        "resource": {"group": resource.group, "version": resource.version, "resource": resource.plural},
        "name": write.name,
        "namespace": request.namespace.unwrap_or_default(),
        "operation": write.operation,
        "userInfo": {"username": request.user.name, "groups": request.user.groups},
        "dryRun": false,
    })
}

/// kube-apiserver's refusal: `<resource> "<name>" is forbidden: ValidatingAdmissionPolicy …`,
/// with the validation's reason (Invalid, 422, unless it names another).
fn denied(
    request: &Request<'_>,
    name: &str,
    policy: &str,
    binding: &str,
    failure: &validate::Failure,
) -> Status {
    let resource = request.resource;
    let message = format!(
        "ValidatingAdmissionPolicy '{policy}' with binding '{binding}' denied request: {}",
        failure.message
    );
    let qualified = if resource.group.is_empty() {
        resource.plural.to_owned()
    } else {
        format!("{}.{}", resource.plural, resource.group)
    };
    let reason = match failure.reason.as_str() {
        "Unauthorized" => StatusReason::Unauthorized,
        "Forbidden" => StatusReason::Forbidden,
        "RequestEntityTooLarge" => StatusReason::RequestEntityTooLarge,
        _ => StatusReason::Invalid,
    };
    let mut status = Status::failure(
        reason,
        format!("{qualified} \"{name}\" is forbidden: {message}"),
    );
    status.details = Some(Box::new(StatusDetails {
        name: Some(name.to_owned()),
        group: (!resource.group.is_empty()).then(|| resource.group.to_owned()),
        kind: Some(resource.plural.to_owned()),
        causes: vec![StatusCause {
            kind: None,
            message,
            field: None,
        }],
    }));
    status
}
