use super::*;
use crate::model::fixtures::{endpoint, web};

fn settings() -> Settings {
    Settings {
        cluster_cidr: Some("10.244.0.0/16".parse().unwrap()),
        ..Settings::default()
    }
}

fn rules_of(table: &Table, chain: &str) -> Vec<String> {
    let prefix = format!("-A {chain} ");
    table
        .rules
        .iter()
        .filter(|r| r.starts_with(&prefix))
        .cloned()
        .collect()
}

#[test]
fn a_cluster_ip_spreads_over_its_endpoints_and_masquerades_outside_traffic() {
    let port = web(vec![endpoint(5, true), endpoint(6, false)]);
    let out = render(std::slice::from_ref(&port), &settings());
    let svc = chains::service(&port);
    let services = rules_of(&out.nat, "KUBE-SERVICES");
    assert_eq!(
        services[0],
        format!(
            "-A KUBE-SERVICES -m comment --comment \"default/web:http cluster IP\" -d 10.96.0.20/32 -p tcp -m tcp --dport 80 -j {svc}"
        )
    );
    assert!(services.last().unwrap().ends_with("-j KUBE-NODEPORTS"));
    let spread = rules_of(&out.nat, &svc);
    assert_eq!(spread.len(), 3, "{spread:?}");
    assert!(
        spread[0].contains("! -s 10.244.0.0/16 -j KUBE-MARK-MASQ"),
        "{spread:?}"
    );
    assert!(
        spread[1].contains("--probability 0.5000000000"),
        "{spread:?}"
    );
    assert!(!spread[2].contains("statistic"), "{spread:?}");
    let sep = chains::endpoint(&port, &port.endpoints[0]);
    assert_eq!(
        rules_of(&out.nat, &sep)[1],
        format!(
            "-A {sep} -m comment --comment default/web:http -p tcp -m tcp -j DNAT --to-destination 10.244.0.5:8080"
        )
    );
    assert_eq!(out.chains.len(), 3);
    assert!(out.filter.rules.iter().all(|r| !r.contains("REJECT")));
}

#[test]
fn a_port_without_endpoints_is_rejected_in_filter() {
    let mut port = web(Vec::new());
    port.node_port = Some(30080);
    let out = render(&[port], &settings());
    let rejects: Vec<_> = out
        .filter
        .rules
        .iter()
        .filter(|r| r.contains("REJECT"))
        .collect();
    assert_eq!(rejects.len(), 2, "{rejects:?}");
    assert!(rejects[0].contains("-d 10.96.0.20/32 -p tcp -m tcp --dport 80"));
    assert!(rejects[1].contains("--dst-type LOCAL -p tcp -m tcp --dport 30080"));
    assert!(out.chains.is_empty());
}

#[test]
fn a_sync_names_only_changed_chains_and_deletes_stale_ones() {
    let mut port = web(vec![endpoint(5, false), endpoint(6, false)]);
    let first = render(std::slice::from_ref(&port), &settings());
    let (nat, written) = first.nat_update(&Written::new());
    assert_eq!(nat.chains.len(), NAT_CHAINS.len() + 3);
    // Nothing changed: only the fixed chains are rewritten.
    let (nat, _) = render(std::slice::from_ref(&port), &settings()).nat_update(&written);
    assert_eq!(nat.chains.len(), NAT_CHAINS.len(), "{:?}", nat.chains);
    // One endpoint replaced: the service chain and the new endpoint's chain are written, the
    // old endpoint's chain deleted.
    let gone = chains::endpoint(&port, &port.endpoints[1]);
    port.endpoints[1] = endpoint(7, false);
    let (nat, now) = render(std::slice::from_ref(&port), &settings()).nat_update(&written);
    let named: Vec<&String> = nat.chains.iter().skip(NAT_CHAINS.len()).collect();
    assert_eq!(named.len(), 3, "{named:?}");
    assert!(named.contains(&&format!(":{} - [0:0]", chains::service(&port))));
    assert!(named.contains(&&format!(
        ":{} - [0:0]",
        chains::endpoint(&port, &port.endpoints[1])
    )));
    assert_eq!(nat.rules.last().unwrap(), &format!("-X {gone}"));
    let kept = chains::endpoint(&port, &port.endpoints[0]);
    assert!(
        !nat.rules
            .iter()
            .any(|r| r.starts_with(&format!("-A {kept} "))),
        "the unchanged endpoint's chain was rewritten"
    );
    assert!(!now.contains_key(&gone));
}

#[test]
fn large_clusters_go_without_endpoint_comments() {
    let ports: Vec<ServicePort> = (0..101)
        .map(|_| web((0..10).map(|i| endpoint(i, false)).collect()))
        .collect();
    let out = render(&ports, &settings());
    let sep = chains::endpoint(&ports[0], &ports[0].endpoints[0]);
    assert!(
        rules_of(&out.nat, &sep)
            .iter()
            .all(|r| !r.contains("comment"))
    );
    let small = render(&ports[..1], &settings());
    assert!(
        rules_of(&small.nat, &sep)
            .iter()
            .all(|r| r.contains("comment"))
    );
}

#[test]
fn node_ports_masquerade_unless_external_policy_is_local() {
    let mut port = web(vec![endpoint(5, true), endpoint(6, false)]);
    port.node_port = Some(30080);
    let ext = chains::external(&port);
    let out = render(std::slice::from_ref(&port), &settings());
    assert_eq!(
        rules_of(&out.nat, "KUBE-NODEPORTS"),
        [format!(
            "-A KUBE-NODEPORTS -m comment --comment default/web:http -p tcp -m tcp --dport 30080 -j {ext}"
        )]
    );
    let ext_rules = rules_of(&out.nat, &ext);
    assert!(ext_rules[0].ends_with("-j KUBE-MARK-MASQ"));
    assert!(ext_rules[1].ends_with(&chains::service(&port)));

    port.external_local = true;
    let out = render(std::slice::from_ref(&port), &settings());
    let ext_rules = rules_of(&out.nat, &ext);
    let svl = chains::service_local(&port);
    assert_eq!(ext_rules.last().unwrap(), &format!("-A {ext} -j {svl}"));
    // The local chain only knows this node's endpoint.
    let local = rules_of(&out.nat, &svl);
    assert_eq!(local.len(), 1);
    assert!(local[0].contains("10.244.0.5:8080"));
}

#[test]
fn client_ip_affinity_checks_recent_clients_first() {
    let mut port = web(vec![endpoint(5, false), endpoint(6, false)]);
    port.affinity_seconds = Some(600);
    let out = render(std::slice::from_ref(&port), &settings());
    let spread = rules_of(&out.nat, &chains::service(&port));
    assert!(
        spread[1].contains("--rcheck --seconds 600 --reap"),
        "{spread:?}"
    );
    assert!(spread[2].contains("--rcheck"), "{spread:?}");
    let sep = chains::endpoint(&port, &port.endpoints[0]);
    assert!(rules_of(&out.nat, &sep)[1].contains(&format!(
        "-m recent --name {sep} --mask 255.255.255.255 --set"
    )));
}

#[test]
fn internal_policy_local_without_local_endpoints_drops() {
    let mut port = web(vec![endpoint(6, false)]);
    port.internal_local = true;
    let out = render(&[port], &settings());
    assert!(
        out.filter
            .rules
            .iter()
            .any(|r| r.contains("has no local endpoints") && r.ends_with("-j DROP"))
    );
    assert!(!rules_of(&out.nat, "KUBE-SERVICES")[0].contains("cluster IP"));
}
