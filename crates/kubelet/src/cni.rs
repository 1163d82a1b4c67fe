//! The node's CNI configuration: one conflist (bridge + host-local over the node's `spec.podCIDR`,
//! and portmap for hostPorts) in containerd's CNI conf dir. The runtime's network is not ready
//! until it exists, so pods wait for the node to get its pod CIDR.

use std::path::Path;

use anyhow::Context as _;
use ipnet::IpNet;
use serde_json::json;

/// The bridge every pod of the node is attached to.
pub const BRIDGE: &str = "k0rs0";
const FILE: &str = "10-k0rs.conflist";

/// The conflist for a node whose pods get addresses from `pod_cidrs`, with interfaces of `mtu`
/// (the node's; the plugin's default otherwise).
pub fn conflist(pod_cidrs: &[IpNet], ipam_dir: &Path, mtu: Option<u32>) -> serde_json::Value {
    let ranges: Vec<_> = pod_cidrs
        .iter()
        .map(|cidr| {
            let gateway = cidr.hosts().next().map(|ip| ip.to_string());
            json!([{"subnet": cidr.to_string(), "gateway": gateway}])
        })
        .collect();
    let routes: Vec<_> = pod_cidrs
        .iter()
        .map(|cidr| json!({"dst": if cidr.addr().is_ipv4() { "0.0.0.0/0" } else { "::/0" }}))
        .collect();
    let mut list = json!({
        // 0.4.0: everything used here is in it, and it is the newest that the CNI plugins and
        // containerd before 1.6 (Debian 11: plugins 0.9, containerd 1.4) speak; newer ones speak
        // it too.
        "cniVersion": "0.4.0",
        "name": "k0rs",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": true,
                // The network component masquerades with one rule per node instead: the
                // plugin's ipMasq runs iptables twice for every pod (~0.3 s of CPU each).
                "ipMasq": false,
                "hairpinMode": true,
                "ipam": {"type": "host-local", "dataDir": ipam_dir, "ranges": ranges, "routes": routes},
            },
            {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true},
        ],
    });
    if let Some(mtu) = mtu {
        list["plugins"][0]["mtu"] = json!(mtu);
    }
    list
}

/// Writes the conflist when it changed; returns whether it did.
pub fn write(
    conf_dir: &Path,
    pod_cidrs: &[IpNet],
    ipam_dir: &Path,
    mtu: Option<u32>,
) -> anyhow::Result<bool> {
    let text =
        serde_json::to_string_pretty(&conflist(pod_cidrs, ipam_dir, mtu)).context("conflist")?;
    let path = conf_dir.join(FILE);
    if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    std::fs::create_dir_all(conf_dir)
        .with_context(|| format!("cannot create {}", conf_dir.display()))?;
    // containerd watches the directory: a rename makes the file appear whole.
    let tmp = conf_dir.join(format!(".{FILE}.tmp"));
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_address_of_the_pod_cidr_is_the_gateway() {
        let cidr: IpNet = "10.244.3.0/24".parse().unwrap();
        let list = conflist(&[cidr], Path::new("/d/ipam"), Some(1400));
        let bridge = &list["plugins"][0];
        assert_eq!(bridge["ipam"]["ranges"][0][0]["subnet"], "10.244.3.0/24");
        assert_eq!(bridge["ipam"]["ranges"][0][0]["gateway"], "10.244.3.1");
        assert_eq!(bridge["ipam"]["dataDir"], "/d/ipam");
        assert_eq!(bridge["mtu"], 1400);
        assert_eq!(list["plugins"][1]["type"], "portmap");
        let unknown = conflist(&[cidr], Path::new("/d/ipam"), None);
        assert!(unknown["plugins"][0].get("mtu").is_none());
    }
}
