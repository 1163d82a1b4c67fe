//! A pod's sandbox as CRI sees it: the configuration it is created with (names, labels, DNS, ports,
//! namespaces, cgroup parent, security) and the lookup of the sandbox that already runs a pod.

use std::collections::HashMap;

use k0rs_cri::api;
use k8s_openapi::api::core::v1::Pod;

use super::layout::PodDirs;

/// Labels k0rs puts on every sandbox and container (the kubelet's names, so tools recognise them).
pub const POD_UID_LABEL: &str = "io.kubernetes.pod.uid";
pub const POD_NAME_LABEL: &str = "io.kubernetes.pod.name";
pub const POD_NAMESPACE_LABEL: &str = "io.kubernetes.pod.namespace";
pub const CONTAINER_NAME_LABEL: &str = "io.kubernetes.container.name";

/// Cluster DNS settings given to pods with `dnsPolicy: ClusterFirst`.
#[derive(Debug, Clone)]
pub struct ClusterDns {
    pub server: String,
    pub domain: String,
    /// The node's resolv.conf, for `dnsPolicy: Default`.
    pub resolv_conf: std::path::PathBuf,
}

/// The identity labels of a pod's sandbox and containers.
pub fn pod_labels(pod: &Pod) -> HashMap<String, String> {
    let meta = &pod.metadata;
    HashMap::from([
        (
            POD_UID_LABEL.to_owned(),
            meta.uid.clone().unwrap_or_default(),
        ),
        (
            POD_NAME_LABEL.to_owned(),
            meta.name.clone().unwrap_or_default(),
        ),
        (
            POD_NAMESPACE_LABEL.to_owned(),
            meta.namespace.clone().unwrap_or_default(),
        ),
    ])
}

/// Whether the pod shares the node's network namespace.
pub fn host_network(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.host_network)
        .unwrap_or(false)
}

/// The namespaces a pod's sandbox and containers share with the node.
pub fn namespace_options(pod: &Pod) -> api::NamespaceOption {
    let spec = pod.spec.as_ref();
    let mode = |host: Option<bool>, shared: i32| {
        if host.unwrap_or(false) {
            api::NamespaceMode::Node as i32
        } else {
            shared
        }
    };
    let pid_shared = if spec
        .and_then(|s| s.share_process_namespace)
        .unwrap_or(false)
    {
        api::NamespaceMode::Pod as i32
    } else {
        api::NamespaceMode::Container as i32
    };
    api::NamespaceOption {
        network: mode(
            spec.and_then(|s| s.host_network),
            api::NamespaceMode::Pod as i32,
        ),
        pid: mode(spec.and_then(|s| s.host_pid), pid_shared),
        ipc: mode(
            spec.and_then(|s| s.host_ipc),
            api::NamespaceMode::Pod as i32,
        ),
        ..Default::default()
    }
}

/// The sandbox configuration of `pod`, attempt `attempt`.
pub fn config(
    pod: &Pod,
    attempt: u32,
    dirs: &PodDirs,
    dns: &ClusterDns,
    cgroup_parent: &str,
) -> api::PodSandboxConfig {
    let meta = &pod.metadata;
    let spec = pod.spec.clone().unwrap_or_default();
    let hostname = spec
        .hostname
        .clone()
        .unwrap_or_else(|| meta.name.clone().unwrap_or_default());
    let port_mappings = spec
        .containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .filter(|p| p.host_port.is_some_and(|h| h > 0))
        .map(|p| api::PortMapping {
            protocol: match p.protocol.as_deref() {
                Some("UDP") => api::Protocol::Udp as i32,
                Some("SCTP") => api::Protocol::Sctp as i32,
                _ => api::Protocol::Tcp as i32,
            },
            container_port: p.container_port,
            host_port: p.host_port.unwrap_or_default(),
            host_ip: p.host_ip.clone().unwrap_or_default(),
        })
        .collect();
    let security = spec.security_context.clone().unwrap_or_default();
    api::PodSandboxConfig {
        metadata: Some(api::PodSandboxMetadata {
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone().unwrap_or_default(),
            namespace: meta.namespace.clone().unwrap_or_default(),
            attempt,
        }),
        hostname: if host_network(pod) {
            String::new()
        } else {
            hostname
        },
        log_directory: dirs.logs.display().to_string(),
        dns_config: Some(dns_config(pod, dns)),
        port_mappings,
        labels: pod_labels(pod),
        annotations: meta
            .annotations
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        linux: Some(api::LinuxPodSandboxConfig {
            cgroup_parent: cgroup_parent.to_owned(),
            security_context: Some(api::LinuxSandboxSecurityContext {
                namespace_options: Some(namespace_options(pod)),
                run_as_user: security.run_as_user.map(|value| api::Int64Value { value }),
                run_as_group: security.run_as_group.map(|value| api::Int64Value { value }),
                supplemental_groups: security.supplemental_groups.clone().unwrap_or_default(),
                seccomp: Some(api::SecurityProfile {
                    profile_type: api::security_profile::ProfileType::RuntimeDefault as i32,
                    localhost_ref: String::new(),
                }),
                ..Default::default()
            }),
            sysctls: security
                .sysctls
                .iter()
                .flatten()
                .map(|s| (s.name.clone(), s.value.clone()))
                .collect(),
            ..Default::default()
        }),
        windows: None,
    }
}

/// resolv.conf of the pod: the cluster's DNS with Kubernetes' search path and `ndots:5` for
/// `ClusterFirst`, the node's own for `Default`, and `dnsConfig` merged in either way.
fn dns_config(pod: &Pod, dns: &ClusterDns) -> api::DnsConfig {
    let spec = pod.spec.as_ref();
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    let policy = spec
        .and_then(|s| s.dns_policy.as_deref())
        .unwrap_or("ClusterFirst");
    let cluster = match policy {
        "ClusterFirst" => !host_network(pod),
        "ClusterFirstWithHostNet" => true,
        _ => false,
    };
    let mut config = if cluster {
        api::DnsConfig {
            servers: vec![dns.server.clone()],
            searches: vec![
                format!("{namespace}.svc.{}", dns.domain),
                format!("svc.{}", dns.domain),
                dns.domain.clone(),
            ],
            options: vec!["ndots:5".into()],
        }
    } else if policy == "None" {
        api::DnsConfig::default()
    } else {
        host_resolv_conf(&dns.resolv_conf)
    };
    if let Some(extra) = spec.and_then(|s| s.dns_config.as_ref()) {
        config
            .servers
            .extend(extra.nameservers.iter().flatten().cloned());
        config
            .searches
            .extend(extra.searches.iter().flatten().cloned());
        for option in extra.options.iter().flatten() {
            let Some(name) = option.name.clone() else {
                continue;
            };
            config
                .options
                .retain(|o| o.split(':').next() != Some(&name));
            config.options.push(match &option.value {
                Some(value) => format!("{name}:{value}"),
                None => name,
            });
        }
    }
    config
}

/// The node's resolv.conf as a CRI DNS config (for `dnsPolicy: Default`).
fn host_resolv_conf(path: &std::path::Path) -> api::DnsConfig {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut config = api::DnsConfig::default();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => config.servers.extend(words.next().map(str::to_owned)),
            Some("search") => config.searches = words.map(str::to_owned).collect(),
            Some("options") => config.options.extend(words.map(str::to_owned)),
            _ => {}
        }
    }
    config
}
