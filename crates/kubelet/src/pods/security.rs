//! Checks of a container's security context that need the image: `runAsNonRoot` (the kubelet
//! refuses to start a container that would run as uid 0).

use k0rs_cri::api;
use k8s_openapi::api::core::v1::{Container, Pod};

/// `Err(message)` when `container` asks to run as non-root but would run as root (or its image
/// names a user that cannot be checked), in the kubelet's words.
pub fn verify_run_as_non_root(
    pod: &Pod,
    container: &Container,
    image: Option<&api::Image>,
) -> Result<(), String> {
    let pod_security = pod.spec.as_ref().and_then(|s| s.security_context.as_ref());
    let own = container.security_context.as_ref();
    let non_root = own
        .and_then(|s| s.run_as_non_root)
        .or_else(|| pod_security.and_then(|s| s.run_as_non_root))
        .unwrap_or(false);
    if !non_root {
        return Ok(());
    }
    let explicit = own
        .and_then(|s| s.run_as_user)
        .or_else(|| pod_security.and_then(|s| s.run_as_user));
    let meta = &pod.metadata;
    // The kubelet's `format.Pod`: name_namespace(uid).
    let who = format!(
        "pod: \"{}_{}({})\", container: {}",
        meta.name.as_deref().unwrap_or_default(),
        meta.namespace.as_deref().unwrap_or_default(),
        meta.uid.as_deref().unwrap_or_default(),
        container.name
    );
    match (explicit, image) {
        (Some(0), _) => Err(format!(
            "container's runAsUser breaks non-root policy ({who})"
        )),
        (None, Some(image)) if image.uid.is_none() && !image.username.is_empty() => Err(format!(
            "container has runAsNonRoot and image has non-numeric user ({}), cannot verify user is non-root ({who})",
            image.username
        )),
        // No user in the image: root.
        (None, image) if image.and_then(|i| i.uid.as_ref()).map_or(0, |u| u.value) == 0 => Err(
            format!("container has runAsNonRoot and image will run as root ({who})"),
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(
        pod_security: &serde_json::Value,
        container_security: &serde_json::Value,
    ) -> (Pod, Container) {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"securityContext": pod_security,
                     "containers": [{"name": "c", "securityContext": container_security}]},
        }))
        .unwrap();
        let container = pod.spec.as_ref().unwrap().containers[0].clone();
        (pod, container)
    }

    #[test]
    fn root_is_refused_only_when_non_root_is_asked() {
        let root_image = api::Image::default();
        let (p, c) = pod(&json!({}), &json!({}));
        assert!(verify_run_as_non_root(&p, &c, Some(&root_image)).is_ok());
        let (p, c) = pod(&json!({"runAsNonRoot": true}), &json!({}));
        let error = verify_run_as_non_root(&p, &c, Some(&root_image)).unwrap_err();
        assert!(
            error.starts_with("container has runAsNonRoot and image will run as root"),
            "{error}"
        );
        let (p, c) = pod(&json!({"runAsNonRoot": true}), &json!({"runAsUser": 1000}));
        assert!(verify_run_as_non_root(&p, &c, Some(&root_image)).is_ok());
        let (p, c) = pod(&json!({"runAsNonRoot": true, "runAsUser": 0}), &json!({}));
        assert!(
            verify_run_as_non_root(&p, &c, None)
                .unwrap_err()
                .contains("runAsUser breaks non-root policy")
        );
        let named = api::Image {
            username: "nobody".into(),
            ..api::Image::default()
        };
        let (p, c) = pod(&json!({}), &json!({"runAsNonRoot": true}));
        assert!(
            verify_run_as_non_root(&p, &c, Some(&named))
                .unwrap_err()
                .contains("non-numeric user (nobody)")
        );
        let numeric = api::Image {
            uid: Some(api::Int64Value { value: 65534 }),
            ..api::Image::default()
        };
        assert!(verify_run_as_non_root(&p, &c, Some(&numeric)).is_ok());
    }
}
