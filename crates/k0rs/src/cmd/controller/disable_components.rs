//! `controller --disable-components`: k0s's component names and what each means in k0rs. A name k0rs
//! has a component for switches that component off. A name whose k0s component has no counterpart
//! in k0rs is accepted and changes nothing, which is what disabling it asks for. A name whose work
//! k0rs does inside another component it cannot split is refused with the reason, as is a name
//! k0s does not know; both errors list the names k0rs accepts.

use std::ffi::OsStr;

use clap::builder::{PossibleValue, TypedValueParser};

/// A component `--disable-components` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Component {
    ApplierManager,
    Autopilot,
    ControlApi,
    Coredns,
    EndpointReconciler,
    Helm,
    KonnectivityServer,
    KubeControllerManager,
    KubeProxy,
    KubeScheduler,
    NodeRole,
    WindowsNode,
    WorkerConfig,
}

enum Verdict {
    Accepted(Component),
    /// The reason k0rs cannot switch it off.
    Refused(&'static str),
}

use Verdict::{Accepted, Refused};

/// Every name k0s knows (1.28 and later), in k0s's order.
const NAMES: &[(&str, Verdict)] = &[
    // The manifest deployer: nothing in <data-dir>/manifests is applied or pruned.
    ("applier-manager", Accepted(Component::ApplierManager)),
    // The autopilot CRDs are not installed (<data-dir>/manifests/autopilot) and no channel is
    // polled.
    ("autopilot", Accepted(Component::Autopilot)),
    // Nothing runs: k0rs serves no join API for controllers yet.
    ("control-api", Accepted(Component::ControlApi)),
    // The `kube-dns` Service and its endpoints are not made (see controller.rs).
    ("coredns", Accepted(Component::Coredns)),
    (
        "csr-approver",
        Refused(
            "k0rs approves and signs kubelet certificates in one controller of its controller manager, which cannot be switched off on its own (disabling kube-controller-manager stops it with the rest)",
        ),
    ),
    // Nothing of k0s's reconciler runs: k0rs's API server keeps the `kubernetes` endpoints itself,
    // as kube-apiserver does when k0s's reconciler is disabled.
    (
        "endpoint-reconciler",
        Accepted(Component::EndpointReconciler),
    ),
    // Nothing runs: k0rs has no Helm controller.
    ("helm", Accepted(Component::Helm)),
    // No worker tunnel: the API server dials kubelets directly, and workers run no tunnel agent
    // (the worker settings do not announce one).
    (
        "konnectivity-server",
        Accepted(Component::KonnectivityServer),
    ),
    (
        "kube-controller-manager",
        Accepted(Component::KubeControllerManager),
    ),
    // k0s's spec.network.kubeProxy.disabled: no worker runs the service proxy.
    ("kube-proxy", Accepted(Component::KubeProxy)),
    ("kube-scheduler", Accepted(Component::KubeScheduler)),
    (
        "metrics-server",
        Refused(
            "k0rs's API server serves metrics.k8s.io itself and cannot switch it off (an APIService for your own metrics-server takes precedence over it)",
        ),
    ),
    (
        "network-provider",
        Refused(
            "k0rs's pod network (CNI configuration, routes, NetworkPolicy) cannot be switched off yet",
        ),
    ),
    // The controller's own node is not labelled node-role.kubernetes.io/control-plane.
    ("node-role", Accepted(Component::NodeRole)),
    (
        "system-rbac",
        Refused(
            "k0rs's API server keeps the bootstrap RBAC policy, including the bindings k0s's system-rbac adds, and cannot switch it off",
        ),
    ),
    // Nothing runs: k0rs has no Windows node support.
    ("windows-node", Accepted(Component::WindowsNode)),
    // Workers' settings are not published; joining workers keep k0s's network defaults.
    ("worker-config", Accepted(Component::WorkerConfig)),
];

/// The names k0rs accepts.
pub fn accepted() -> impl Iterator<Item = &'static str> {
    NAMES
        .iter()
        .filter(|(_, verdict)| matches!(verdict, Accepted(_)))
        .map(|(name, _)| *name)
}

/// The component a name stands for, or why k0rs refuses it.
pub fn parse(name: &str) -> Result<Component, String> {
    let valid = || accepted().collect::<Vec<_>>().join(", ");
    match NAMES.iter().find(|(known, _)| *known == name) {
        Some((_, Accepted(component))) => Ok(*component),
        Some((_, Refused(reason))) => Err(format!(
            "{name} cannot be disabled in k0rs: {reason}; valid names: {}",
            valid()
        )),
        None => Err(format!(
            "unknown component {name:?}; valid names: {}",
            valid()
        )),
    }
}

/// The clap parser: [`parse`], with the accepted names as the flag's possible values.
#[derive(Debug, Clone, Copy)]
pub struct NameParser;

impl TypedValueParser for NameParser {
    type Value = Component;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<Component, clap::Error> {
        let name = value.to_string_lossy();
        parse(&name).map_err(|message| {
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("--disable-components: {message}\n"),
            )
            .with_cmd(cmd)
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(accepted().map(PossibleValue::new)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_components_or_reasons() {
        assert_eq!(parse("kube-proxy"), Ok(Component::KubeProxy));
        assert_eq!(parse("helm"), Ok(Component::Helm));
        let refused = parse("metrics-server").unwrap_err();
        assert!(refused.contains("metrics.k8s.io"), "{refused}");
        assert!(
            refused.contains("valid names: applier-manager, autopilot"),
            "{refused}"
        );
        let unknown = parse("kube-apiserver").unwrap_err();
        assert!(
            unknown.starts_with("unknown component \"kube-apiserver\""),
            "{unknown}"
        );
        assert!(
            unknown.ends_with("windows-node, worker-config"),
            "{unknown}"
        );
    }

    #[test]
    fn every_accepted_name_is_one_component() {
        let components: Vec<Component> = accepted().map(|n| parse(n).unwrap()).collect();
        let mut unique = components.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(components.len(), unique.len());
        assert_eq!(accepted().count(), 13);
    }
}
