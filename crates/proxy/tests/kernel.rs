//! The rendered rules as the kernel sees them: loaded with the host's iptables-restore into a
//! network namespace of the test's own, read back with iptables-save. Needs root (CI runs as
//! root).

use std::net::Ipv4Addr;
use std::process::Command;

use k0rs_proxy::model::{Endpoint, ServicePort};
use k0rs_proxy::nft::{self, render as render_nft};
use k0rs_proxy::rules::{Settings, Written, render};

fn port(name: &str, endpoints: &[u8]) -> ServicePort {
    ServicePort {
        namespace: "default".into(),
        name: name.into(),
        port_name: "http".into(),
        protocol: "tcp".into(),
        cluster_ip: Ipv4Addr::new(10, 96, 0, 20),
        port: 80,
        node_port: Some(30080),
        external_ips: vec![Ipv4Addr::new(192, 0, 2, 1)],
        affinity_seconds: Some(60),
        internal_local: false,
        external_local: true,
        endpoints: endpoints
            .iter()
            .map(|last| Endpoint {
                ip: Ipv4Addr::new(10, 244, 0, *last),
                port: 8080,
                ready: true,
                serving: true,
                terminating: false,
                local: *last % 2 == 0,
            })
            .collect(),
    }
}

/// Restores `input` into a fresh namespace, twice (as two syncs would), and returns the nat
/// table after the second.
fn load_twice(first: &str, second: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("1"), first).unwrap();
    std::fs::write(dir.path().join("2"), second).unwrap();
    let script = format!(
        "iptables-nft-restore --noflush < {0}/1 && iptables-nft-restore --noflush < {0}/2 && iptables-nft-save -t nat",
        dir.path().display()
    );
    let out = Command::new("unshare")
        .args(["--net", "sh", "-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n--- input ---\n{first}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_kernel_takes_the_rules_and_a_second_sync_removes_stale_chains() {
    let settings = Settings {
        cluster_cidr: Some("10.244.0.0/16".parse().unwrap()),
        ..Settings::default()
    };
    let ports = [port("web", &[2, 3, 4]), port("empty", &[])];
    let first = render(&ports, &settings);
    let (nat, first_chains) = first.nat_update(&Written::new());
    let first_input = k0rs_netfilter::restore_input(&[nat, first.filter]);
    // The second sync: web lost an endpoint.
    let ports = [port("web", &[2, 4]), port("empty", &[])];
    let second = render(&ports, &settings);
    let (nat, second_chains) = second.nat_update(&first_chains);
    let removed: Vec<_> = first_chains
        .keys()
        .filter(|c| !second_chains.contains_key(*c))
        .cloned()
        .collect();
    assert_eq!(removed.len(), 1, "{removed:?}");
    let saved = load_twice(
        &first_input,
        &k0rs_netfilter::restore_input(&[nat, second.filter]),
    );
    assert!(!saved.contains(&removed[0]), "{saved}");
    for chain in second_chains.keys() {
        assert!(
            saved.contains(&format!(":{chain} ")),
            "{chain} missing:\n{saved}"
        );
    }
    assert!(
        saved.contains("--to-destination 10.244.0.4:8080"),
        "{saved}"
    );
    assert!(!saved.contains("10.244.0.3:8080"), "{saved}");
    assert!(saved.contains("-m recent --rcheck --seconds 60"), "{saved}");
}

/// Runs `scripts` with `nft -f` one after the other in a fresh namespace; the table after the
/// last, as `nft list` shows it.
fn nft_in_namespace(scripts: &[String]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut steps = Vec::new();
    for (i, script) in scripts.iter().enumerate() {
        let file = dir.path().join(i.to_string());
        std::fs::write(&file, script).unwrap();
        steps.push(format!("nft -f {}", file.display()));
    }
    steps.push("nft list table ip k0rs-proxy".into());
    let out = Command::new("unshare")
        .args(["--net", "sh", "-c", &steps.join(" && ")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n--- scripts ---\n{}",
        String::from_utf8_lossy(&out.stderr),
        scripts.join("\n---\n")
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn nftables_mode_loads_and_a_partial_sync_changes_only_what_changed() {
    let settings = Settings {
        cluster_cidr: Some("10.244.0.0/16".parse().unwrap()),
        ..Settings::default()
    };
    let mut plain = port("plain", &[2, 3, 4]);
    plain.affinity_seconds = None;
    plain.external_local = false;
    plain.cluster_ip = Ipv4Addr::new(10, 96, 0, 21);
    let first = render_nft(
        &[port("web", &[2, 3, 4]), port("empty", &[]), plain.clone()],
        &settings,
        true,
    );
    let full = nft::script(&first, None, &settings);
    // web lost an endpoint, plain one too; empty is gone.
    plain.endpoints.remove(1);
    let second = render_nft(&[port("web", &[2, 4]), plain], &settings, true);
    let partial = nft::script(&second, Some(&first), &settings);
    assert!(!partial.contains("delete table"), "{partial}");
    assert!(
        !partial.contains("external-"),
        "the external chains did not change: {partial}"
    );
    assert!(
        partial.contains(
            "delete element ip k0rs-proxy no-endpoint-services { 10.96.0.20 . tcp . 80 }"
        ),
        "{partial}"
    );
    let listed = nft_in_namespace(&[full.clone(), partial]);
    assert!(
        listed.contains(
            "dnat ip to numgen random mod 2 map { 0 : 10.244.0.2 . 8080, 1 : 10.244.0.4 . 8080 }"
        ),
        "{listed}"
    );
    assert!(!listed.contains("10.244.0.3"), "{listed}");
    assert!(listed.contains("update @affinity-"), "{listed}");
    assert!(listed.contains("timeout 1m"), "{listed}");
    assert!(!listed.contains("default/empty"), "{listed}");
    // A full sync over a table that exists replaces it in one transaction.
    let again = nft_in_namespace(&[full.clone(), full]);
    assert!(again.contains("10.244.0.3"), "{again}");
}

/// The same without concatenated DNAT maps (what k0rs renders for nft before 1.0): a chain per
/// endpoint, picked by a vmap, loads, and a partial sync drops the endpoint that went.
#[test]
fn nftables_mode_without_concatenated_dnat_loads_and_updates() {
    let settings = Settings {
        cluster_cidr: Some("10.244.0.0/16".parse().unwrap()),
        ..Settings::default()
    };
    let mut plain = port("plain", &[2, 3, 4]);
    plain.affinity_seconds = None;
    plain.external_local = false;
    plain.cluster_ip = Ipv4Addr::new(10, 96, 0, 21);
    let first = render_nft(std::slice::from_ref(&plain), &settings, false);
    let full = nft::script(&first, None, &settings);
    plain.endpoints.remove(1);
    let second = render_nft(&[plain], &settings, false);
    let partial = nft::script(&second, Some(&first), &settings);
    let listed = nft_in_namespace(&[full, partial]);
    assert!(!listed.contains(". 8080"), "{listed}");
    assert!(
        listed.contains("numgen random mod 2 vmap { 0 : goto "),
        "{listed}"
    );
    assert!(listed.contains("dnat to 10.244.0.2:8080"), "{listed}");
    assert!(listed.contains("dnat to 10.244.0.4:8080"), "{listed}");
    assert!(!listed.contains("10.244.0.3"), "{listed}");
}
