//! Taints and tolerations: which taints a pod tolerates, as the scheduler filters and scores
//! nodes, the DaemonSet controller picks its nodes and node lifecycle evicts pods.

use k8s_openapi::api::core::v1::{Node, PodSpec, Taint, Toleration};

/// Whether `toleration` tolerates `taint` (Kubernetes' `Toleration.ToleratesTaint`): the same
/// effect (or none given), and the same key and value, or the key alone with `Exists` (an
/// `Exists` without a key tolerates every taint).
pub fn toleration_matches(toleration: &Toleration, taint: &Taint) -> bool {
    if toleration
        .effect
        .as_deref()
        .is_some_and(|e| !e.is_empty() && e != taint.effect)
    {
        return false;
    }
    match toleration.operator.as_deref().unwrap_or("Equal") {
        "Exists" => toleration
            .key
            .as_deref()
            .is_none_or(|k| k.is_empty() || k == taint.key),
        _ => {
            toleration.key.as_deref() == Some(taint.key.as_str())
                && toleration.value.as_deref().unwrap_or_default()
                    == taint.value.as_deref().unwrap_or_default()
        }
    }
}

/// Whether some toleration of the pod tolerates `taint`.
pub fn tolerated(spec: &PodSpec, taint: &Taint) -> bool {
    spec.tolerations
        .iter()
        .flatten()
        .any(|t| toleration_matches(t, taint))
}

/// A node's taints.
pub fn node_taints(node: &Node) -> impl Iterator<Item = &Taint> {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
}

/// Whether the taint keeps pods that do not tolerate it off the node (NoSchedule, NoExecute),
/// rather than only making the node less preferred (PreferNoSchedule).
pub fn repels(taint: &Taint) -> bool {
    taint.effect == "NoSchedule" || taint.effect == "NoExecute"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(key: &str, value: Option<&str>, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: value.map(Into::into),
            effect: effect.into(),
            ..Taint::default()
        }
    }

    fn toleration(
        key: Option<&str>,
        operator: Option<&str>,
        value: Option<&str>,
        effect: Option<&str>,
    ) -> Toleration {
        Toleration {
            key: key.map(Into::into),
            operator: operator.map(Into::into),
            value: value.map(Into::into),
            effect: effect.map(Into::into),
            toleration_seconds: None,
        }
    }

    #[test]
    fn tolerations_match_taints_as_kubernetes_does() {
        let gpu = taint("dedicated", Some("gpu"), "NoSchedule");
        let cases = [
            (
                "equal key and value",
                toleration(Some("dedicated"), None, Some("gpu"), None),
                true,
            ),
            (
                "equal, other value",
                toleration(Some("dedicated"), Some("Equal"), Some("cpu"), None),
                false,
            ),
            (
                "equal, other key",
                toleration(Some("other"), None, Some("gpu"), None),
                false,
            ),
            (
                "exists on the key",
                toleration(Some("dedicated"), Some("Exists"), None, None),
                true,
            ),
            (
                "exists without a key",
                toleration(None, Some("Exists"), None, None),
                true,
            ),
            (
                "same effect",
                toleration(Some("dedicated"), Some("Exists"), None, Some("NoSchedule")),
                true,
            ),
            (
                "other effect",
                toleration(Some("dedicated"), Some("Exists"), None, Some("NoExecute")),
                false,
            ),
            (
                "empty effect is any",
                toleration(Some("dedicated"), Some("Exists"), None, Some("")),
                true,
            ),
        ];
        for (name, toleration, expected) in cases {
            assert_eq!(toleration_matches(&toleration, &gpu), expected, "{name}");
        }
        let no_value = taint("k", None, "NoExecute");
        assert!(toleration_matches(
            &toleration(Some("k"), None, Some(""), None),
            &no_value
        ));
        assert!(repels(&no_value));
        assert!(!repels(&taint("k", None, "PreferNoSchedule")));
    }
}
