//! The kernel switches that make routed and bridged pod traffic pass through iptables.

/// The kernel settings proxied and filtered traffic needs: forwarding, and bridged pod-to-pod
/// packets seen by iptables (else a reply from a pod on the same bridge skips the DNAT's reverse
/// and the client drops it, and network policy never sees traffic between pods of one node).
/// Each is best effort: a host without br_netfilter still routes between nodes.
pub fn enable_forwarding(component: &str) {
    for (path, what) in [
        ("/proc/sys/net/ipv4/ip_forward", "IP forwarding"),
        (
            "/proc/sys/net/bridge/bridge-nf-call-iptables",
            "bridge-nf-call-iptables",
        ),
    ] {
        if std::fs::read_to_string(path).is_ok_and(|v| v.trim() != "1")
            && let Err(error) = std::fs::write(path, "1")
        {
            tracing::warn!(component, %error, "cannot enable {what}");
        }
    }
}
