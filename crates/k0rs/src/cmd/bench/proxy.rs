//! `k0rs bench proxy`: the service proxy's syncs at scale (1,000 Services × 10 endpoints by
//! default), in a network namespace of the bench's own: the first full sync, a repeated full
//! sync (the periodic resync), and the sync after one endpoint changed. Each is the proxy's own
//! sync, timed: iptables mode (render + one `iptables-restore --noflush`) with the nft and the
//! legacy back end, and nftables mode (render + one `nft -f`).

use std::net::Ipv4Addr;
use std::time::Instant;

use k0rs_proxy::model::{Endpoint, ServicePort};
use k0rs_proxy::rules::{Settings, Written};

use super::pods::Figures;

fn ports(services: usize, endpoints: usize) -> Vec<ServicePort> {
    (0..services)
        .map(|s| {
            let [_, _, hi, lo] = u32::try_from(s).unwrap_or(0).to_be_bytes();
            ServicePort {
                namespace: "bench".into(),
                name: format!("svc-{s}"),
                port_name: "http".into(),
                protocol: "tcp".into(),
                cluster_ip: Ipv4Addr::new(10, 96, hi, lo),
                port: 80,
                node_port: None,
                external_ips: Vec::new(),
                affinity_seconds: None,
                internal_local: false,
                external_local: false,
                endpoints: (0..endpoints)
                    .map(|e| {
                        let n = u32::try_from(s * endpoints + e).unwrap_or(0);
                        let [_, a, b, c] = n.to_be_bytes();
                        Endpoint {
                            ip: Ipv4Addr::new(10, 100 + a, b, c),
                            port: 8080,
                            ready: true,
                            serving: true,
                            terminating: false,
                            local: false,
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The bench itself, inside its own network namespace: the same syncs with the nft and the
/// legacy iptables back end (the first one's rules removed before the second starts), side by side.
pub fn run(services: usize, endpoints: usize) -> anyhow::Result<Figures> {
    let detected = k0rs_netfilter::Toolchain::detect()?;
    let mut figures = Figures::new();
    for backend in [
        k0rs_netfilter::Backend::Nft,
        k0rs_netfilter::Backend::Legacy,
    ] {
        let toolchain = detected.clone().with_backend(backend);
        for (metric, value) in run_with(&toolchain, services, endpoints)? {
            figures.insert(format!("{backend}_{metric}"), value);
        }
        // The next back end starts from empty tables.
        k0rs_proxy::cleanup(&toolchain)?;
    }
    if let Some(nft) = &detected.nft {
        for (metric, value) in run_nftables(nft, services, endpoints)? {
            figures.insert(format!("nftables_{metric}"), value);
        }
        k0rs_proxy::nft::delete_table(nft)?;
    }
    for metric in ["full_sync_ms", "one_endpoint_changed_ms"] {
        figures.insert(
            format!("ratio_nft_to_legacy_{metric}"),
            figures[&format!("nft_{metric}")] / figures[&format!("legacy_{metric}")],
        );
        if let Some(native) = figures.get(&format!("nftables_{metric}")).copied() {
            figures.insert(
                format!("ratio_nftables_to_iptables_nft_{metric}"),
                native / figures[&format!("nft_{metric}")],
            );
        }
    }
    Ok(figures)
}

fn settings() -> anyhow::Result<Settings> {
    Ok(Settings {
        cluster_cidr: Some("10.244.0.0/16".parse()?),
        ..Settings::default()
    })
}

/// The same syncs in nftables mode.
fn run_nftables(
    nft: &std::path::Path,
    services: usize,
    endpoints: usize,
) -> anyhow::Result<Figures> {
    let settings = settings()?;
    let mut ports = ports(services, endpoints);
    let mut figures = Figures::new();
    let timed = |ports: &[ServicePort],
                 last: Option<&k0rs_proxy::nft::Ruleset>|
     -> anyhow::Result<(f64, k0rs_proxy::nft::Ruleset)> {
        let started = Instant::now();
        let now = k0rs_proxy::nft::sync(nft, ports, &settings, last)?;
        Ok((started.elapsed().as_secs_f64() * 1000.0, now))
    };
    eprintln!("[proxy] {services} services × {endpoints} endpoints, nftables mode");
    let (first, _) = timed(&ports, None)?;
    figures.insert("full_sync_ms".into(), first);
    let (again, written) = timed(&ports, None)?;
    figures.insert("full_resync_ms".into(), again);
    let (unchanged, written) = timed(&ports, Some(&written))?;
    figures.insert("sync_nothing_changed_ms".into(), unchanged);
    ports[services / 2].endpoints[0].ip = Ipv4Addr::new(10, 99, 0, 1);
    let (changed, written) = timed(&ports, Some(&written))?;
    figures.insert("one_endpoint_changed_ms".into(), changed);
    #[allow(clippy::cast_precision_loss)]
    figures.insert("chains".into(), written.chains.len() as f64);
    Ok(figures)
}

fn run_with(
    toolchain: &k0rs_netfilter::Toolchain,
    services: usize,
    endpoints: usize,
) -> anyhow::Result<Figures> {
    let settings = settings()?;
    let mut ports = ports(services, endpoints);
    let mut figures = Figures::new();

    let timed = |ports: &[ServicePort], written: &Written| -> anyhow::Result<(f64, Written)> {
        let started = Instant::now();
        let now = k0rs_proxy::sync(toolchain, ports, &settings, written)?;
        Ok((started.elapsed().as_secs_f64() * 1000.0, now))
    };
    eprintln!(
        "[proxy] {services} services × {endpoints} endpoints, iptables back end {}",
        toolchain.backend
    );
    let (first, written) = timed(&ports, &Written::new())?;
    figures.insert("full_sync_ms".into(), first);
    let mut unknown = written.clone();
    for rules in unknown.values_mut() {
        *rules = vec![k0rs_proxy::rules::UNKNOWN.to_owned()];
    }
    let (again, written) = timed(&ports, &unknown)?;
    figures.insert("full_resync_ms".into(), again);
    let (unchanged, written) = timed(&ports, &written)?;
    figures.insert("sync_nothing_changed_ms".into(), unchanged);
    // One endpoint of one service replaced (a pod rescheduled).
    ports[services / 2].endpoints[0].ip = Ipv4Addr::new(10, 99, 0, 1);
    let (changed, chains) = timed(&ports, &written)?;
    figures.insert("one_endpoint_changed_ms".into(), changed);
    #[allow(clippy::cast_precision_loss)]
    figures.insert("chains".into(), chains.len() as f64);
    let rules = std::process::Command::new(toolchain.iptables_save())
        .args(["-t", "nat"])
        .output()
        .map_or(0, |o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter(|l| l.starts_with("-A"))
                .count()
        });
    #[allow(clippy::cast_precision_loss)]
    figures.insert("nat_rules".into(), rules as f64);
    Ok(figures)
}
