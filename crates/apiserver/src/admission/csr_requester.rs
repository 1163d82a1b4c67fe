//! The requester of a CertificateSigningRequest: a new request names who filed it, which is what
//! approvers judge. Kubernetes sets it in the CSR strategy; here the registry never sees the user,
//! so it is a plugin.

use serde_json::Value;

use super::{Admitted, Operation, Plugin, Request};

pub struct CsrRequester;

impl Plugin for CsrRequester {
    fn name(&self) -> &'static str {
        "CertificateSigningRequestRequester"
    }

    fn handles(&self, request: &Request<'_>) -> bool {
        request.is(k0rs_registry::resources::CERTIFICATE_SIGNING_REQUESTS)
            && request.operation == Operation::Create
    }

    fn admit<'a>(&'a self, request: &'a Request<'a>, object: &'a mut Value) -> Admitted<'a> {
        object["spec"]["username"] = Value::String(request.user.name.clone());
        object["spec"]["groups"] = serde_json::json!(request.user.groups);
        if let Some(spec) = object["spec"].as_object_mut() {
            spec.remove("uid");
            spec.remove("extra");
        }
        Box::pin(async { Ok(()) })
    }
}
