//! The built-in resources the code names, as constants of their rows in the table: looked up when
//! k0rs is compiled (a name the table lacks fails the build), so no caller expects a lookup by
//! name to succeed at run time.

use crate::table::{RESOURCES, Resource};

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The row of `group`, `version` and `plural`.
const fn row(group: &str, version: &str, plural: &str) -> &'static Resource {
    let mut i = 0;
    while i < RESOURCES.len() {
        let r = &RESOURCES[i];
        if same(r.group, group) && same(r.version, version) && same(r.plural, plural) {
            return r;
        }
        i += 1;
    }
    panic!("not in the resource table");
}

// core/v1
pub const BINDINGS: &Resource = row("", "v1", "bindings");
pub const COMPONENT_STATUSES: &Resource = row("", "v1", "componentstatuses");
pub const CONFIG_MAPS: &Resource = row("", "v1", "configmaps");
pub const ENDPOINTS: &Resource = row("", "v1", "endpoints");
pub const EVENTS: &Resource = row("", "v1", "events");
pub const LIMIT_RANGES: &Resource = row("", "v1", "limitranges");
pub const NAMESPACES: &Resource = row("", "v1", "namespaces");
pub const NODES: &Resource = row("", "v1", "nodes");
pub const PODS: &Resource = row("", "v1", "pods");
pub const RESOURCE_QUOTAS: &Resource = row("", "v1", "resourcequotas");
pub const SECRETS: &Resource = row("", "v1", "secrets");
pub const SERVICE_ACCOUNTS: &Resource = row("", "v1", "serviceaccounts");
pub const SERVICES: &Resource = row("", "v1", "services");
// other groups
pub const MUTATING_WEBHOOK_CONFIGURATIONS: &Resource = row(
    "admissionregistration.k8s.io",
    "v1",
    "mutatingwebhookconfigurations",
);
pub const VALIDATING_WEBHOOK_CONFIGURATIONS: &Resource = row(
    "admissionregistration.k8s.io",
    "v1",
    "validatingwebhookconfigurations",
);
pub const API_SERVICES: &Resource = row("apiregistration.k8s.io", "v1", "apiservices");
pub const CERTIFICATE_SIGNING_REQUESTS: &Resource =
    row("certificates.k8s.io", "v1", "certificatesigningrequests");
pub const CLUSTER_ROLE_BINDINGS: &Resource =
    row("rbac.authorization.k8s.io", "v1", "clusterrolebindings");
pub const CLUSTER_ROLES: &Resource = row("rbac.authorization.k8s.io", "v1", "clusterroles");
pub const CUSTOM_RESOURCE_DEFINITIONS: &Resource =
    row("apiextensions.k8s.io", "v1", "customresourcedefinitions");
pub const ENDPOINT_SLICES: &Resource = row("discovery.k8s.io", "v1", "endpointslices");
/// autoscaling/v2, the version autoscaling/v1 HorizontalPodAutoscalers are stored as.
pub const HORIZONTAL_POD_AUTOSCALERS: &Resource =
    row("autoscaling", "v2", "horizontalpodautoscalers");
pub const LEASES: &Resource = row("coordination.k8s.io", "v1", "leases");
pub const POD_DISRUPTION_BUDGETS: &Resource = row("policy", "v1", "poddisruptionbudgets");
pub const PRIORITY_CLASSES: &Resource = row("scheduling.k8s.io", "v1", "priorityclasses");
pub const ROLE_BINDINGS: &Resource = row("rbac.authorization.k8s.io", "v1", "rolebindings");
pub const ROLES: &Resource = row("rbac.authorization.k8s.io", "v1", "roles");
// reviews (created, never stored)
pub const LOCAL_SUBJECT_ACCESS_REVIEWS: &Resource =
    row("authorization.k8s.io", "v1", "localsubjectaccessreviews");
pub const SELF_SUBJECT_ACCESS_REVIEWS: &Resource =
    row("authorization.k8s.io", "v1", "selfsubjectaccessreviews");
pub const SELF_SUBJECT_REVIEWS: &Resource =
    row("authentication.k8s.io", "v1", "selfsubjectreviews");
pub const SELF_SUBJECT_RULES_REVIEWS: &Resource =
    row("authorization.k8s.io", "v1", "selfsubjectrulesreviews");
pub const SUBJECT_ACCESS_REVIEWS: &Resource =
    row("authorization.k8s.io", "v1", "subjectaccessreviews");
pub const TOKEN_REVIEWS: &Resource = row("authentication.k8s.io", "v1", "tokenreviews");

// admissionregistration.k8s.io/v1beta1
pub const VALIDATING_ADMISSION_POLICIES: &Resource = row(
    "admissionregistration.k8s.io",
    "v1beta1",
    "validatingadmissionpolicies",
);
pub const VALIDATING_ADMISSION_POLICY_BINDINGS: &Resource = row(
    "admissionregistration.k8s.io",
    "v1beta1",
    "validatingadmissionpolicybindings",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_are_their_rows() {
        assert_eq!(Some(PODS), crate::find("", "v1", "pods"));
        assert_eq!(HORIZONTAL_POD_AUTOSCALERS.version, "v2");
        assert!(ROLES.is(crate::find("rbac.authorization.k8s.io", "v1", "roles").unwrap()));
    }
}
