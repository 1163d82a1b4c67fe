//! ClusterConfig parsing and validation: documented k0s configs load, and each kind of mistake is
//! reported with its field path.

use k0rs_config::{ClusterConfig, ConfigError, KubeProxyMode, StorageType};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The field paths of every error the text produces.
fn error_paths(text: &str) -> Vec<String> {
    match ClusterConfig::from_yaml(text, "test.yaml") {
        Ok(_) => panic!("config was accepted:\n{text}"),
        Err(ConfigError::Invalid { errors, .. }) => errors.into_iter().map(|e| e.path).collect(),
        Err(other) => panic!("expected field errors, got {other}"),
    }
}

/// Rejects `text` and checks that one error is at `path` with `needle` in its message.
fn assert_rejected(text: &str, path: &str, needle: &str) {
    let err = ClusterConfig::from_yaml(text, "test.yaml").expect_err("config was accepted");
    let found = err.field_errors().iter().find(|e| e.path == path);
    let Some(found) = found else {
        panic!("no error at {path}: {err}")
    };
    assert!(
        found.message.contains(needle),
        "{path}: {:?} lacks {needle:?}",
        found.message
    );
    assert!(
        err.to_string().contains(&format!("{path}: ")),
        "rendered error lacks the path: {err}"
    );
}

fn spec(body: &str) -> String {
    format!("apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n{body}")
}

#[test]
fn documented_k0s_configs_load() {
    for name in [
        "k0s-docs-full.yaml",
        "k0s-docs-calico-ipvs.yaml",
        "k0s-docs-external-etcd.yaml",
        "k0s-docs-single-kine.yaml",
    ] {
        if let Err(e) = ClusterConfig::from_yaml(&fixture(name), name) {
            panic!("{name}: {e}");
        }
    }
    let full = ClusterConfig::from_yaml(&fixture("k0s-docs-full.yaml"), "full").unwrap();
    assert_eq!(full.spec.storage.kind, StorageType::Etcd);
    assert_eq!(
        full.spec.api.external_address.as_deref(),
        Some("my-lb-address.example.com")
    );
    assert_eq!(full.spec.worker_profiles[0].name, "custom-role");
    let ipvs = ClusterConfig::from_yaml(&fixture("k0s-docs-calico-ipvs.yaml"), "ipvs").unwrap();
    assert_eq!(ipvs.spec.network.kube_proxy.mode, KubeProxyMode::Ipvs);
}

#[test]
fn defaults_are_k0s_defaults() {
    let config = ClusterConfig::from_yaml("", "empty").unwrap();
    assert_eq!(config.spec.api.port, 6443);
    assert_eq!(config.spec.api.k0s_api_port, 9443);
    assert_eq!(config.spec.network.pod_cidr.to_string(), "10.244.0.0/16");
    assert_eq!(config.spec.network.service_cidr.to_string(), "10.96.0.0/12");
    assert_eq!(config.spec.network.cluster_domain, "cluster.local");
    assert_eq!(config.spec.storage.kind, StorageType::Kine);
    assert_eq!(config.spec.network.kube_proxy.mode, KubeProxyMode::Iptables);
    // A partial config keeps the defaults of everything it does not mention.
    let partial = ClusterConfig::from_yaml(&spec("  api:\n    port: 7443\n"), "partial").unwrap();
    assert_eq!(partial.spec.api.port, 7443);
    assert_eq!(partial.spec.api.k0s_api_port, 9443);
}

#[test]
fn printed_defaults_round_trip() {
    let mut config = ClusterConfig::default();
    config.apply_host_defaults(&["127.0.0.1".parse().unwrap(), "192.0.2.4".parse().unwrap()]);
    assert_eq!(config.spec.api.address.unwrap().to_string(), "192.0.2.4");
    let again = ClusterConfig::from_yaml(&config.to_yaml(), "printed").unwrap();
    assert_eq!(again, config);
}

#[test]
fn embedded_spelling_is_the_kine_store() {
    let config = ClusterConfig::from_yaml(&spec("  storage:\n    type: embedded\n"), "t").unwrap();
    assert_eq!(config.spec.storage.kind, StorageType::Kine);
}

#[test]
fn unknown_fields_are_named() {
    let text = spec(
        "  network:\n    podCidr: 10.0.0.0/16\n    kubeProxy:\n      modes: ipvs\n  bogus: 1\n",
    );
    let mut paths = error_paths(&text);
    paths.sort();
    assert_eq!(
        paths,
        [
            "spec.bogus",
            "spec.network.kubeProxy.modes",
            "spec.network.podCidr"
        ]
    );
    assert_rejected(&text, "spec.network.podCidr", "unknown field");
    let nested = spec("  workerProfiles:\n    - name: a\n      valuez: {}\n");
    assert_eq!(error_paths(&nested), ["spec.workerProfiles[0].valuez"]);
}

#[test]
fn malformed_cidrs_are_named() {
    assert_rejected(
        &spec("  network:\n    podCIDR: 10.244.0.0/33\n"),
        "spec.network.podCIDR",
        "invalid CIDR",
    );
    assert_rejected(
        &spec("  network:\n    serviceCIDR: banana\n"),
        "spec.network.serviceCIDR",
        "invalid CIDR",
    );
    assert_rejected(
        &spec("  network:\n    kubeProxy:\n      ipvs:\n        excludeCIDRs: [nope]\n"),
        "spec.network.kubeProxy.ipvs.excludeCIDRs[0]",
        "invalid CIDR",
    );
}

#[test]
fn overlapping_pod_and_service_cidrs_are_rejected() {
    let text = spec("  network:\n    podCIDR: 10.0.0.0/8\n    serviceCIDR: 10.96.0.0/12\n");
    assert_rejected(
        &text,
        "spec.network.serviceCIDR",
        "overlaps spec.network.podCIDR 10.0.0.0/8",
    );
}

#[test]
fn ports_out_of_range_are_rejected() {
    assert_rejected(&spec("  api:\n    port: 70000\n"), "spec.api.port", "u16");
    assert_rejected(
        &spec("  api:\n    port: 0\n"),
        "spec.api.port",
        "between 1 and 65535",
    );
    assert_rejected(
        &spec("  api:\n    k0sApiPort: -1\n"),
        "spec.api.k0sApiPort",
        "",
    );
    assert_rejected(
        &spec("  konnectivity:\n    agentPort: 0\n"),
        "spec.konnectivity.agentPort",
        "between",
    );
    assert_rejected(
        &spec("  api:\n    port: 9443\n"),
        "spec.api.k0sApiPort",
        "must differ",
    );
}

#[test]
fn unknown_enum_values_are_rejected() {
    assert_rejected(
        &spec("  network:\n    kubeProxy:\n      mode: userspace\n"),
        "spec.network.kubeProxy.mode",
        "unknown variant `userspace`",
    );
    assert_rejected(
        &spec("  storage:\n    type: sqlite\n"),
        "spec.storage.type",
        "unknown variant",
    );
    assert_rejected(
        &spec("  network:\n    provider: flannel\n"),
        "spec.network.provider",
        "unknown variant",
    );
    assert_rejected(
        &spec("  network:\n    kuberouter:\n      hairpin: Sometimes\n"),
        "spec.network.kuberouter.hairpin",
        "unknown variant",
    );
}

#[test]
fn other_semantic_errors_are_named() {
    assert_rejected(
        &spec("  api:\n    address: not-an-ip\n"),
        "spec.api.address",
        "invalid IP address",
    );
    assert_rejected(
        &spec("  api:\n    sans: [\"bad name!\"]\n"),
        "spec.api.sans[0]",
        "neither",
    );
    assert_rejected(
        &spec("  network:\n    clusterDomain: Bad_Domain\n"),
        "spec.network.clusterDomain",
        "DNS",
    );
    assert_rejected(
        &spec("  network:\n    serviceCIDR: 10.96.0.0/30\n"),
        "spec.network.serviceCIDR",
        "too small",
    );
    assert_rejected(
        &spec("  network:\n    podCIDR: 10.244.0.0/25\n"),
        "spec.network.podCIDR",
        "too small",
    );
    assert_rejected(
        &spec(
            "  storage:\n    type: etcd\n    etcd:\n      externalCluster:\n        endpoints: []\n",
        ),
        "spec.storage.etcd.externalCluster.etcdPrefix",
        "required",
    );
    assert_rejected(
        &spec("  featureGates:\n    - enabled: true\n"),
        "spec.featureGates[0].name",
        "required",
    );
    assert_rejected(
        &spec("  workerProfiles:\n    - name: p\n      values:\n        clusterDNS: [1.1.1.1]\n"),
        "spec.workerProfiles[0].values.clusterDNS",
        "cannot be overridden",
    );
    assert_rejected(
        &spec("  network:\n    kubeProxy:\n      iptables:\n        syncPeriod: soon\n"),
        "spec.network.kubeProxy.iptables.syncPeriod",
        "not a duration",
    );
    assert_rejected(
        "apiVersion: v1\nkind: ClusterConfig\n",
        "apiVersion",
        "must be",
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = spec(
        "  api:\n    port: 0\n  network:\n    clusterDomain: Bad\n    podCIDR: 10.0.0.0/8\n    serviceCIDR: 10.1.0.0/16\n",
    );
    let paths = error_paths(&text);
    assert!(paths.len() >= 3, "{paths:?}");
}

#[test]
fn yaml_syntax_errors_are_reported() {
    let err = ClusterConfig::from_yaml("spec: x: y\n", "broken.yaml").unwrap_err();
    assert!(matches!(err, ConfigError::Syntax { .. }), "{err:?}");
    assert!(err.to_string().starts_with("broken.yaml: "), "{err}");
}

/// What k0s itself writes and documents: `null` for empty lists and maps (its `config create`
/// output), `metricsPort: 0` to turn kube-router's metrics off, and feature gates naming a
/// component k0s does not check (`kube-api`, in its configuration reference).
#[test]
fn k0s_spellings_load() {
    let text = spec(
        "  api:\n    sans: null\n    extraArgs: null\n  extensions:\n    helm:\n      charts: null\n      repositories: null\n  network:\n    kuberouter:\n      metricsPort: 0\n    kubeProxy:\n      ipvs:\n        excludeCIDRs: null\n  featureGates:\n    - name: X\n      components: [\"kubelet\", \"kube-api\"]\n",
    );
    let config = ClusterConfig::from_yaml(&text, "t").unwrap();
    assert!(config.spec.extensions.helm.charts.is_empty());
    assert_eq!(config.spec.network.kuberouter.metrics_port, 0);
    assert_eq!(
        config.spec.feature_gates[0].components,
        ["kubelet", "kube-api"]
    );
}
