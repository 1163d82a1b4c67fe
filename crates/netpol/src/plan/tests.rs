use serde_json::json;

use super::*;

fn pod(name: &str, node: &str, ip: &str, labels: &serde_json::Value) -> Arc<Pod> {
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "np", "labels": labels},
            "spec": {"nodeName": node, "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"phase": "Running", "podIP": ip},
        }))
        .unwrap(),
    )
}

fn policy(name: &str, spec: &serde_json::Value) -> Arc<NetworkPolicy> {
    Arc::new(
        serde_json::from_value(
            json!({"metadata": {"name": name, "namespace": "np"}, "spec": spec}),
        )
        .unwrap(),
    )
}

fn namespace() -> Arc<Namespace> {
    Arc::new(
        serde_json::from_value(
            json!({"metadata": {"name": "np", "labels": {"kubernetes.io/metadata.name": "np"}}}),
        )
        .unwrap(),
    )
}

fn cluster() -> Vec<Arc<Pod>> {
    vec![
        pod("web", "a", "10.244.0.5", &json!({"app": "web"})),
        pod("client", "b", "10.244.1.5", &json!({"role": "client"})),
        pod("other", "a", "10.244.0.6", &json!({})),
    ]
}

fn rules_of<'p>(plan: &'p Plan, needle: &str) -> Vec<&'p str> {
    plan.filter
        .rules
        .iter()
        .filter(|r| r.contains(needle))
        .map(String::as_str)
        .collect()
}

#[test]
fn without_policies_nothing_is_filtered() {
    let plan = plan("a", &cluster(), &[namespace()], &[]);
    assert!(plan.filter.rules.is_empty(), "{:?}", plan.filter.rules);
    assert_eq!(plan.chains, BTreeSet::from([CHAIN.to_owned()]));
    assert!(plan.sets.is_empty());
}

#[test]
fn default_deny_isolates_local_pods_and_rejects() {
    let deny = policy(
        "deny",
        &json!({"podSelector": {}, "policyTypes": ["Ingress"]}),
    );
    let plan = plan("a", &cluster(), &[namespace()], &[deny]);
    // Both local pods, not the remote client; established traffic first.
    let top = rules_of(&plan, "-A K0RS-NETPOL ");
    assert!(top[0].contains("RELATED,ESTABLISHED -j RETURN"), "{top:?}");
    let jumps = rules_of(&plan, "-A K0RS-NETPOL -d");
    assert_eq!(jumps.len(), 2, "{jumps:?}");
    assert!(jumps.iter().any(|j| j.contains("10.244.0.5/32")));
    assert!(rules_of(&plan, "10.244.1.5").is_empty());
    let web = hashed_name(INGRESS_PREFIX, &["np", "web"]);
    let chain = rules_of(&plan, &format!("-A {web} "));
    assert_eq!(chain.len(), 1, "{chain:?}");
    assert!(chain[0].ends_with("-j REJECT"));
    assert!(
        rules_of(&plan, "-s 10.244.").is_empty(),
        "no egress isolation"
    );
}

#[test]
fn allowed_peers_and_ports_become_sets_and_returns() {
    let allow = policy(
        "allow",
        &json!({
            "podSelector": {"matchLabels": {"app": "web"}},
            "ingress": [{
                "from": [
                    {"podSelector": {"matchLabels": {"role": "client"}}},
                    {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.244.0.0/16"]}},
                ],
                "ports": [{"port": "http"}, {"protocol": "UDP", "port": 53, "endPort": 60}],
            }],
        }),
    );
    let plan = plan("a", &cluster(), &[namespace()], &[allow]);
    let web = hashed_name(INGRESS_PREFIX, &["np", "web"]);
    let chain = rules_of(&plan, &format!("-A {web} "));
    // (2 peer sets) × (2 ports) allows, then the reject.
    assert_eq!(chain.len(), 5, "{chain:?}");
    assert!(
        chain
            .iter()
            .any(|r| r.contains("-p tcp --dport 8080 -m set"))
    );
    assert!(
        chain
            .iter()
            .any(|r| r.contains("-p udp --dport 53:60 -m set"))
    );
    let pods = plan
        .sets
        .values()
        .find(|s| s.set_type == "hash:ip")
        .unwrap();
    assert_eq!(pods.entries, BTreeSet::from(["10.244.1.5".to_owned()]));
    let block = plan
        .sets
        .values()
        .find(|s| s.set_type == "hash:net")
        .unwrap();
    assert_eq!(
        block.entries,
        BTreeSet::from([
            "0.0.0.0/1".to_owned(),
            "128.0.0.0/1".to_owned(),
            "10.244.0.0/16 nomatch".to_owned()
        ])
    );
    // `other` is not selected: not isolated.
    assert!(rules_of(&plan, "10.244.0.6").is_empty());
}

#[test]
fn egress_named_ports_match_peer_addresses_with_their_ports() {
    let egress = policy(
        "egress",
        &json!({
            "podSelector": {"matchLabels": {"role": "client"}},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "np"}}, "podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": "http"}]}],
        }),
    );
    let plan = plan("b", &cluster(), &[namespace()], &[egress]);
    assert_eq!(rules_of(&plan, "-A K0RS-NETPOL -s 10.244.1.5/32").len(), 1);
    let set = plan
        .sets
        .values()
        .find(|s| s.set_type == "hash:ip,port")
        .unwrap();
    assert_eq!(
        set.entries,
        BTreeSet::from(["10.244.0.5,tcp:8080".to_owned()])
    );
    let client = hashed_name(EGRESS_PREFIX, &["np", "client"]);
    let chain = rules_of(&plan, &format!("-A {client} "));
    assert_eq!(chain.len(), 2, "{chain:?}");
    assert!(chain[0].contains("-p tcp -m set --match-set"), "{chain:?}");
    assert!(chain[0].contains(" dst,dst -j RETURN"), "{chain:?}");
}
