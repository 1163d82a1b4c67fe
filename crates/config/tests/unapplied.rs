//! k0s's documented example configs, and exactly which of their fields k0rs refuses (errors) or
//! accepts without applying (warnings). A change that makes a field work removes it here.

use std::collections::BTreeSet;

use k0rs_config::{ClusterConfig, ConfigError, Severity};

/// What k0rs makes of one fixture.
enum Outcome {
    /// Loaded; the field paths of its errors and of its warnings.
    Loaded {
        errors: &'static [&'static str],
        warnings: &'static [&'static str],
    },
    /// Rejected as invalid, at these field paths.
    Invalid(&'static [&'static str]),
}

use Outcome::{Invalid, Loaded};

/// `spec.images.<each default image of k0s 1.28>`.
const K0S_1_28_IMAGES: &[&str] = &[
    "spec.images.calico.cni",
    "spec.images.calico.kubecontrollers",
    "spec.images.calico.node",
    "spec.images.coredns",
    "spec.images.konnectivity",
    "spec.images.kubeproxy",
    "spec.images.kuberouter.cni",
    "spec.images.kuberouter.cniInstaller",
    "spec.images.metricsserver",
    "spec.images.pause",
    "spec.images.pushgateway",
];

const THREE_GATES: &[&str] = &[
    "spec.featureGates[0]",
    "spec.featureGates[1]",
    "spec.featureGates[2]",
];

const NONE: &[&str] = &[];

const TABLE: &[(&str, Outcome)] = &[
    (
        "k0s-1.28-config-create.yaml",
        Loaded {
            errors: NONE,
            warnings: NONE,
        },
    ),
    (
        "k0s-1.28-config-create-include-images.yaml",
        Loaded {
            errors: NONE,
            warnings: K0S_1_28_IMAGES,
        },
    ),
    (
        "k0s-1.28-docs-reference.yaml",
        Loaded {
            errors: NONE,
            warnings: THREE_GATES,
        },
    ),
    (
        "k0s-1.28-docs-calico-env-vars.yaml",
        Loaded {
            errors: &["spec.network.provider"],
            warnings: NONE,
        },
    ),
    (
        "k0s-1.28-docs-kube-proxy-defaults.yaml",
        Loaded {
            errors: NONE,
            warnings: NONE,
        },
    ),
    (
        "k0s-1.28-docs-feature-gates.yaml",
        Loaded {
            errors: NONE,
            warnings: THREE_GATES,
        },
    ),
    (
        "k0s-1.28-docs-kubelet-feature-gates.yaml",
        Loaded {
            errors: NONE,
            warnings: THREE_GATES,
        },
    ),
    (
        "k0s-1.28-docs-profile-plugin-dir.yaml",
        Invalid(&["spec.workerProfiles[0].name"]),
    ),
    (
        "k0s-1.28-docs-profile-eviction.yaml",
        Loaded {
            errors: NONE,
            warnings: &["spec.workerProfiles[0]"],
        },
    ),
    (
        "k0s-1.28-docs-profile-unsafe-sysctls.yaml",
        Loaded {
            errors: NONE,
            warnings: &["spec.workerProfiles[0]"],
        },
    ),
    (
        "k0s-1.28-docs-image-coredns.yaml",
        Loaded {
            errors: NONE,
            warnings: &["spec.images.coredns"],
        },
    ),
    (
        "k0s-1.28-docs-image-repository.yaml",
        Loaded {
            errors: NONE,
            warnings: &[
                "spec.images.konnectivity",
                "spec.images.metricsserver",
                "spec.images.repository",
            ],
        },
    ),
    (
        "k0s-1.28-docs-openebs-storage.yaml",
        Loaded {
            errors: NONE,
            warnings: &["spec.extensions.storage.type"],
        },
    ),
    (
        "k0s-1.28-docs-telemetry.yaml",
        Loaded {
            errors: NONE,
            warnings: NONE,
        },
    ),
    (
        "k0s-docs-full.yaml",
        Loaded {
            errors: NONE,
            warnings: &[
                "spec.api.extraArgs.audit-log-maxage",
                "spec.extensions.helm.charts[0]",
                "spec.extensions.helm.repositories[0]",
                "spec.extensions.helm.repositories[1]",
                "spec.extensions.storage.type",
                "spec.featureGates[0]",
                "spec.images.calico.cni",
                "spec.images.calico.kubecontrollers",
                "spec.images.calico.node",
                "spec.images.coredns",
                "spec.images.konnectivity",
                "spec.images.kubeproxy",
                "spec.images.kuberouter.cni",
                "spec.images.kuberouter.cniInstaller",
                "spec.images.metricsserver",
                "spec.images.repository",
                "spec.workerProfiles[0]",
            ],
        },
    ),
    (
        "k0s-docs-calico-ipvs.yaml",
        Loaded {
            errors: &["spec.network.kubeProxy.mode", "spec.network.provider"],
            warnings: &["spec.network.dualStack.IPv6serviceCIDR"],
        },
    ),
    (
        "k0s-docs-external-etcd.yaml",
        Loaded {
            errors: NONE,
            warnings: NONE,
        },
    ),
    (
        "k0s-docs-single-kine.yaml",
        Loaded {
            errors: NONE,
            warnings: &["spec.storage.kine.dataSource"],
        },
    ),
];

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn set(paths: &[&str]) -> BTreeSet<String> {
    paths.iter().map(|p| (*p).to_owned()).collect()
}

#[test]
fn documented_k0s_configs_warn_exactly_at_these_fields() {
    let mut failures = Vec::new();
    for (name, expected) in TABLE {
        let loaded = ClusterConfig::from_yaml(&fixture(name), name);
        match (loaded, expected) {
            (Ok(config), Loaded { errors, warnings }) => {
                let findings = config.unapplied();
                let of = |severity| {
                    findings
                        .iter()
                        .filter(|f| f.severity == severity)
                        .map(|f| f.path.clone())
                        .collect::<BTreeSet<_>>()
                };
                if of(Severity::Error) != set(errors) || of(Severity::Warning) != set(warnings) {
                    let found: Vec<String> = findings.iter().map(ToString::to_string).collect();
                    failures.push(format!("{name}:\n  {}", found.join("\n  ")));
                }
            }
            (Err(ConfigError::Invalid { errors, .. }), Invalid(paths)) => {
                let found: BTreeSet<String> = errors.into_iter().map(|e| e.path).collect();
                if found != set(paths) {
                    failures.push(format!("{name}: invalid at {found:?}"));
                }
            }
            (Ok(_), Invalid(_)) => failures.push(format!("{name}: loaded, expected invalid")),
            (Err(e), _) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_fixture_is_in_the_table() {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("k0s-"))
        .collect();
    let listed: BTreeSet<String> = TABLE.iter().map(|(name, _)| (*name).to_owned()).collect();
    assert_eq!(on_disk, listed);
}

#[test]
fn warnings_and_errors_say_what_k0rs_does_instead() {
    let config = ClusterConfig::from_yaml(&fixture("k0s-docs-calico-ipvs.yaml"), "t").unwrap();
    let rendered: Vec<String> = config.unapplied().iter().map(ToString::to_string).collect();
    assert!(
        rendered.contains(
            &"spec.network.provider: not supported by k0rs: calico: k0rs runs its own pod network in place of kube-router and cannot run Calico; use kuberouter".to_owned()
        ),
        "{rendered:#?}"
    );
    assert!(
        rendered.iter().any(|r| r.starts_with(
            "spec.network.dualStack.IPv6serviceCIDR: accepted but not applied by k0rs: "
        )),
        "{rendered:#?}"
    );
}

#[test]
fn only_settings_that_differ_from_k0s_defaults_count() {
    let text = "spec:\n  network:\n    kubeProxy:\n      iptables:\n        masqueradeBit: 14\n    kuberouter:\n      metricsPort: 0\n  extensions:\n    helm:\n      concurrencyLevel: 5\n  konnectivity:\n    agentPort: 8132\n";
    let config = ClusterConfig::from_yaml(text, "t").unwrap();
    assert_eq!(config.unapplied(), []);
    let text = "spec:\n  network:\n    kubeProxy:\n      disabled: true\n      mode: ipvs\n      metricsBindAddress: 127.0.0.1:1\n";
    let disabled = ClusterConfig::from_yaml(text, "t").unwrap();
    assert_eq!(disabled.unapplied(), [], "a disabled proxy's settings");
    let text = "spec:\n  storage:\n    type: kine\n    kine:\n      dataSource: mysql://u:p@tcp(db:3306)/k0s\n";
    let mysql = ClusterConfig::from_yaml(text, "t").unwrap();
    let findings = mysql.unapplied();
    assert_eq!(findings.len(), 1);
    assert_eq!(
        (findings[0].path.as_str(), findings[0].severity),
        ("spec.storage.kine.dataSource", Severity::Error)
    );
}
