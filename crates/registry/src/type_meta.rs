//! A body's `apiVersion` and `kind` against the endpoint it was sent to, refused in the words of
//! kube-apiserver's decoder. The body is read as the kind it names (its `apiVersion` and `kind`,
//! each taken from the endpoint when missing) and then converted to the endpoint's kind, so:
//!
//! - a kind no built-in group version has: `no kind "pod" is registered for version "v1" …`;
//! - another kind (or the same name in a group with other internal types): `converting (v1.Pod)
//!   to (core.Namespace): unknown conversion`;
//! - the endpoint's kind in another version of its group: `the API version in the data
//!   (autoscaling/v2) does not match the expected API version (autoscaling/v1)`.
//!
//! Custom resources are not built-in kinds and are judged by their own rules ([`crate::meta`]).

use k0rs_api::Status;
use serde_json::Value;

use crate::decoding::Gvk;

/// The scheme kube-apiserver names in its errors for kinds it does not know.
const SCHEME: &str = "pkg/api/legacyscheme/scheme.go:30";

/// Built-in kinds that are no resource of their own but are read as bodies (subresources).
const SUBRESOURCE_KINDS: &[(&str, &str, &str)] = &[
    ("", "v1", "Binding"),
    ("policy", "v1", "Eviction"),
    ("autoscaling", "v1", "Scale"),
    ("authentication.k8s.io", "v1", "TokenRequest"),
];

/// Whether kube-apiserver's scheme knows `kind` in `group`/`version`.
fn registered(group: &str, version: &str, kind: &str) -> bool {
    crate::RESOURCES
        .iter()
        .any(|r| r.group == group && r.version == version && r.kind == kind)
        || SUBRESOURCE_KINDS.contains(&(group, version, kind))
}

/// The Go package of `group`'s internal types, as conversion errors name it (`core.Pod`,
/// `apps.Deployment`); events.k8s.io Events are core Events inside.
fn internal_package(group: &str) -> &str {
    match group.split('.').next().unwrap_or_default() {
        "" | "events" => "core",
        first => first,
    }
}

/// 400 unless `body` names `endpoint`'s kind (or names none): see the module's list.
pub(crate) fn check(endpoint: Gvk<'_>, body: &Value) -> Result<(), Status> {
    if !registered(endpoint.group, endpoint.version, endpoint.kind) {
        return Ok(());
    }
    let kind = body["kind"]
        .as_str()
        .filter(|k| !k.is_empty())
        .unwrap_or(endpoint.kind);
    let (group, version) = match body["apiVersion"].as_str().filter(|v| !v.is_empty()) {
        Some(api_version) => api_version.rsplit_once('/').unwrap_or(("", api_version)),
        None => (endpoint.group, endpoint.version),
    };
    if (group, version, kind) == (endpoint.group, endpoint.version, endpoint.kind) {
        return Ok(());
    }
    let cannot = |why: String| {
        Status::bad_request(format!(
            "{kind} in version {version:?} cannot be handled as a {}: {why}",
            endpoint.kind
        ))
    };
    if !registered(group, version, kind) {
        let group_version = crate::group_version(group, version);
        return Err(cannot(format!(
            "no kind {kind:?} is registered for version {group_version:?} in scheme {SCHEME:?}"
        )));
    }
    let package = internal_package(group);
    let target = internal_package(endpoint.group);
    if kind != endpoint.kind || package != target {
        return Err(cannot(format!(
            "converting ({version}.{kind}) to ({target}.{}): unknown conversion",
            endpoint.kind
        )));
    }
    Err(Status::bad_request(format!(
        "the API version in the data ({}) does not match the expected API version ({})",
        crate::group_version(group, version),
        crate::group_version(endpoint.group, endpoint.version)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NAMESPACE: Gvk<'static> = Gvk {
        group: "",
        version: "v1",
        kind: "Namespace",
    };

    fn refusal(endpoint: Gvk<'_>, body: &Value) -> String {
        let status = check(endpoint, body).unwrap_err();
        assert_eq!(
            (status.code, status.reason),
            (400, k0rs_api::StatusReason::BadRequest)
        );
        status.message
    }

    #[test]
    fn the_endpoints_kind_passes_named_or_not() {
        for body in [
            json!({"apiVersion": "v1", "kind": "Namespace"}),
            json!({"kind": "Namespace"}),
            json!({"apiVersion": "v1"}),
            json!({}),
        ] {
            assert!(check(NAMESPACE, &body).is_ok(), "{body}");
        }
    }

    #[test]
    fn another_kind_cannot_be_converted() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod"});
        assert_eq!(
            refusal(NAMESPACE, &pod),
            r#"Pod in version "v1" cannot be handled as a Namespace: converting (v1.Pod) to (core.Namespace): unknown conversion"#
        );
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment"});
        assert_eq!(
            refusal(NAMESPACE, &deployment),
            r#"Deployment in version "v1" cannot be handled as a Namespace: converting (v1.Deployment) to (core.Namespace): unknown conversion"#
        );
        // No apiVersion: the endpoint's.
        assert_eq!(
            refusal(NAMESPACE, &json!({"kind": "Pod"})),
            r#"Pod in version "v1" cannot be handled as a Namespace: converting (v1.Pod) to (core.Namespace): unknown conversion"#
        );
    }

    #[test]
    fn unknown_kinds_and_versions_are_not_registered() {
        assert_eq!(
            refusal(NAMESPACE, &json!({"apiVersion": "v1", "kind": "namespace"})),
            r#"namespace in version "v1" cannot be handled as a Namespace: no kind "namespace" is registered for version "v1" in scheme "pkg/api/legacyscheme/scheme.go:30""#
        );
        assert_eq!(
            refusal(NAMESPACE, &json!({"apiVersion": "apps/v1"})),
            r#"Namespace in version "v1" cannot be handled as a Namespace: no kind "Namespace" is registered for version "apps/v1" in scheme "pkg/api/legacyscheme/scheme.go:30""#
        );
    }

    #[test]
    fn another_version_of_the_kind_is_the_wrong_api_version() {
        let v1 = Gvk {
            group: "autoscaling",
            version: "v1",
            kind: "HorizontalPodAutoscaler",
        };
        let v2 = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler"});
        assert_eq!(
            refusal(v1, &v2),
            "the API version in the data (autoscaling/v2) does not match the expected API version (autoscaling/v1)"
        );
    }
}
