//! The /etc/hosts the kubelet gives every container of a pod (not hostNetwork ones): localhost,
//! and the pod's own IP under its hostname (and FQDN when it has a subdomain).

use std::fmt::Write as _;

use k8s_openapi::api::core::v1::Pod;

use super::layout::PodDirs;

pub fn write(pod: &Pod, dirs: &PodDirs, ip: Option<&str>, domain: &str) -> std::io::Result<()> {
    let spec = pod.spec.as_ref();
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let hostname = spec.and_then(|s| s.hostname.as_deref()).unwrap_or(name);
    let mut text = String::from(
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n",
    );
    if let Some(ip) = ip {
        match spec.and_then(|s| s.subdomain.as_deref()) {
            Some(sub) if !sub.is_empty() => {
                let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
                let _ = writeln!(
                    text,
                    "{ip}\t{hostname}.{sub}.{namespace}.svc.{domain}\t{hostname}"
                );
            }
            _ => {
                let _ = writeln!(text, "{ip}\t{hostname}");
            }
        }
    }
    for alias in spec
        .and_then(|s| s.host_aliases.as_ref())
        .into_iter()
        .flatten()
    {
        let _ = writeln!(
            text,
            "{}\t{}",
            alias.ip,
            alias.hostnames.clone().unwrap_or_default().join("\t")
        );
    }
    let path = dirs.etc_hosts();
    if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    std::fs::write(path, text)
}
