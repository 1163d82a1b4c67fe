//! The AdmissionReview a webhook gets (admission.k8s.io/v1, or v1beta1 for a webhook that takes
//! only that) and what its answer means: allowed or denied (with kube-apiserver's message), a
//! JSONPatch, warnings; and the errors Kubernetes answers with when a call fails.

use base64::Engine;
use k0rs_api::{Status, StatusCause, StatusDetails, StatusReason};
use serde_json::{Value, json};

use super::config::Webhook;
use crate::admission::{Operation, Request};

/// `CREATE`, `UPDATE`, `DELETE`: the operation as reviews and rules name it.
pub fn operation_name(operation: Operation) -> &'static str {
    match operation {
        Operation::Create => "CREATE",
        Operation::Update => "UPDATE",
        Operation::Delete => "DELETE",
    }
}

fn options_kind(operation: Operation) -> &'static str {
    match operation {
        Operation::Create => "CreateOptions",
        Operation::Update => "UpdateOptions",
        Operation::Delete => "DeleteOptions",
    }
}

/// The review of `request` (its `object` as admission has it so far) for `webhook`, with `uid`.
pub fn review(
    webhook: &Webhook,
    request: &Request<'_>,
    object: Option<&Value>,
    uid: &str,
) -> Value {
    let resource = request.resource;
    let kind = json!({"group": resource.group, "version": resource.version, "kind": resource.kind});
    let gvr =
        json!({"group": resource.group, "version": resource.version, "resource": resource.plural});
    let mut options =
        json!({"kind": options_kind(request.operation), "apiVersion": "meta.k8s.io/v1"});
    if request.dry_run {
        options["dryRun"] = json!(["All"]);
    }
    let mut body = json!({
        "uid": uid,
        "kind": kind,
        "resource": gvr,
        "requestKind": kind,
        "requestResource": gvr,
        "operation": operation_name(request.operation),
        "userInfo": {"username": request.user.name, "groups": request.user.groups},
        "object": object.cloned().unwrap_or(Value::Null),
        "oldObject": request.old.cloned().unwrap_or(Value::Null),
        "dryRun": request.dry_run,
        "options": options,
    });
    if let Some(sub) = request.subresource {
        body["subResource"] = json!(sub);
        body["requestSubResource"] = json!(sub);
    }
    let name = request
        .name
        .filter(|n| !n.is_empty())
        .or_else(|| object.and_then(|o| o["metadata"]["name"].as_str()));
    if let Some(name) = name {
        body["name"] = json!(name);
    }
    if let Some(namespace) = request.namespace.filter(|_| resource.namespaced) {
        body["namespace"] = json!(namespace);
    }
    let api_version = if webhook.review_v1 {
        "admission.k8s.io/v1"
    } else {
        "admission.k8s.io/v1beta1"
    };
    json!({"apiVersion": api_version, "kind": "AdmissionReview", "request": body})
}

/// What a webhook answered.
#[derive(Debug)]
pub struct Answer {
    /// The JSONPatch to apply (mutating webhooks).
    pub patch: Option<Vec<u8>>,
    pub warnings: Vec<String>,
}

/// Reads `response` to the review with `uid`: `Ok` when allowed, the refusal (`Err(Ok)`) or why
/// the answer is unusable (`Err(Err)`, a call failure).
pub fn answer(
    webhook: &Webhook,
    response: &Value,
    uid: &str,
) -> Result<Answer, Result<Status, String>> {
    let response = &response["response"];
    if !response.is_object() {
        return Err(Err("webhook response was absent".to_owned()));
    }
    let answered = response["uid"].as_str().unwrap_or_default();
    if answered != uid {
        return Err(Err(format!(
            "expected response.uid=\"{uid}\", got \"{answered}\""
        )));
    }
    let warnings = response["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    if response["allowed"] != true {
        return Err(Ok(denied(&webhook.name, &response["status"])));
    }
    let patch = match response["patch"].as_str() {
        None => None,
        Some(encoded) => {
            if response["patchType"] != "JSONPatch" {
                return Err(Err(format!(
                    "unsupported patch type {:?}",
                    response["patchType"].as_str().unwrap_or_default()
                )));
            }
            Some(
                base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map_err(|e| Err(format!("the patch is not base64: {e}")))?,
            )
        }
    };
    Ok(Answer { patch, warnings })
}

/// kube-apiserver's refusal for a webhook that denied the request with `status`: its code (403
/// below 400), its reason, and `admission webhook "<name>" denied the request: <message>`.
pub fn denied(name: &str, status: &Value) -> Status {
    let by = format!("admission webhook \"{name}\" denied the request");
    let code = status["code"]
        .as_u64()
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| *c >= 400)
        .unwrap_or(403);
    let reason_text = status["reason"].as_str().unwrap_or_default();
    let reason = serde_json::from_value(json!(reason_text)).unwrap_or(StatusReason::Unknown);
    let message = match status["message"].as_str().filter(|m| !m.is_empty()) {
        Some(message) => format!("{by}: {message}"),
        None if !reason_text.is_empty() => format!("{by}: {reason_text}"),
        None => format!("{by} without explanation"),
    };
    let details = status["details"]
        .is_object()
        .then(|| serde_json::from_value::<StatusDetails>(status["details"].clone()).ok())
        .flatten()
        .map(Box::new);
    Status {
        message,
        reason,
        code,
        details,
    }
}

/// kube-apiserver's answer when calling a webhook whose failurePolicy is Fail failed.
pub fn call_failed(name: &str, why: &str) -> Status {
    let error = format!("failed calling webhook \"{name}\": {why}");
    Status {
        message: format!("Internal error occurred: {error}"),
        reason: StatusReason::InternalError,
        code: 500,
        details: Some(Box::new(StatusDetails {
            causes: vec![StatusCause {
                kind: None,
                message: error,
                field: None,
            }],
            ..StatusDetails::default()
        })),
    }
}

/// The refusal of a dry run that would reach a webhook with side effects.
pub fn dry_run_unsupported(name: &str) -> Status {
    Status::bad_request(format!(
        "admission webhook \"{name}\" does not support dry run"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denials_read_as_kube_apiserver_writes_them() {
        let status = denied(
            "deny.example.com",
            &json!({"message": "no way", "code": 400}),
        );
        assert_eq!(
            status.message,
            "admission webhook \"deny.example.com\" denied the request: no way"
        );
        assert_eq!((status.code, status.reason), (400, StatusReason::Unknown));
        let status = denied("d", &json!({"code": 200}));
        assert_eq!(status.code, 403);
        assert_eq!(
            status.message,
            "admission webhook \"d\" denied the request without explanation"
        );
        let status = denied("d", &json!({"reason": "Forbidden"}));
        assert_eq!(status.reason, StatusReason::Forbidden);
        assert_eq!(
            status.message,
            "admission webhook \"d\" denied the request: Forbidden"
        );
    }

    #[test]
    fn failures_are_internal_errors() {
        let status = call_failed("w", "boom");
        assert_eq!(status.code, 500);
        assert_eq!(
            status.message,
            "Internal error occurred: failed calling webhook \"w\": boom"
        );
    }
}
