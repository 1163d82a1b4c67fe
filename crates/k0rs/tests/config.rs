//! `k0rs config create|validate` through the real binary.

mod harness;

use harness::{Node, k0rs, path_str, run_with_stdin, stderr, stdout};

#[test]
fn created_config_validates_from_stdin() {
    let created = k0rs(&["config", "create"]).output().unwrap();
    assert!(created.status.success(), "{}", stderr(&created));
    let yaml = stdout(&created);
    assert!(
        yaml.contains("apiVersion: k0s.k0sproject.io/v1beta1"),
        "{yaml}"
    );
    assert!(yaml.contains("podCIDR: 10.244.0.0/16"), "{yaml}");
    assert!(yaml.contains("serviceCIDR: 10.96.0.0/12"), "{yaml}");
    assert!(
        yaml.contains("port: 6443") && yaml.contains("k0sApiPort: 9443"),
        "{yaml}"
    );
    let validated = run_with_stdin(
        &mut k0rs(&["config", "validate", "--config", "-"]),
        yaml.as_bytes(),
    );
    assert!(validated.status.success(), "{}", stderr(&validated));
    assert!(validated.stdout.is_empty());

    let with_images = stdout(
        &k0rs(&["config", "create", "--include-images"])
            .output()
            .unwrap(),
    );
    assert!(with_images.contains("images:"), "{with_images}");
    let validated = run_with_stdin(
        &mut k0rs(&["config", "validate", "--config", "-"]),
        with_images.as_bytes(),
    );
    assert!(validated.status.success(), "{}", stderr(&validated));
}

/// Each kind of mistake: non-zero exit, and the field path in the message.
#[test]
fn invalid_configs_fail_naming_the_field() {
    let node = Node::new();
    let cases = [
        (
            "unknown field",
            "  network:\n    podCidr: 10.0.0.0/16\n",
            "spec.network.podCidr: unknown field",
        ),
        (
            "malformed CIDR",
            "  network:\n    podCIDR: 10.244.0.0/40\n",
            "spec.network.podCIDR: invalid CIDR",
        ),
        (
            "overlapping CIDRs",
            "  network:\n    podCIDR: 10.96.0.0/16\n    serviceCIDR: 10.96.0.0/12\n",
            "spec.network.serviceCIDR: 10.96.0.0/12 overlaps spec.network.podCIDR",
        ),
        (
            "port above range",
            "  api:\n    port: 65536\n",
            "spec.api.port: ",
        ),
        (
            "port zero",
            "  api:\n    k0sApiPort: 0\n",
            "spec.api.k0sApiPort: must be between 1 and 65535",
        ),
        (
            "unknown enum value",
            "  network:\n    kubeProxy:\n      mode: userspace\n",
            "spec.network.kubeProxy.mode: unknown variant `userspace`",
        ),
        (
            "unknown storage",
            "  storage:\n    type: mysql\n",
            "spec.storage.type: unknown variant `mysql`",
        ),
    ];
    for (what, body, expected) in cases {
        let yaml =
            format!("apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n{body}");
        let file = node.config("k0s.yaml", &yaml);
        let output = k0rs(&["config", "validate", "--config", path_str(&file)])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{what}: accepted");
        assert!(
            stderr(&output).contains(expected),
            "{what}: {:?} lacks {expected:?}",
            stderr(&output)
        );
        // The same through stdin.
        let output = run_with_stdin(
            &mut k0rs(&["config", "validate", "-c", "-"]),
            yaml.as_bytes(),
        );
        assert_eq!(output.status.code(), Some(1), "{what} (stdin): accepted");
        assert!(
            stderr(&output).contains(expected),
            "{what} (stdin): {}",
            stderr(&output)
        );
    }
}

#[test]
fn both_file_names_and_missing_files() {
    let node = Node::new();
    let body = "apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  api:\n    port: 7443\n";
    for name in ["k0s.yaml", "k0rs.yaml"] {
        let file = node.config(name, body);
        let output = k0rs(&["config", "validate", "--config", path_str(&file)])
            .output()
            .unwrap();
        assert!(output.status.success(), "{name}: {}", stderr(&output));
    }
    let missing = node.root.path().join("absent.yaml");
    let output = k0rs(&["config", "validate", "--config", path_str(&missing)])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("absent.yaml"),
        "{}",
        stderr(&output)
    );
    let output = k0rs(&["config", "validate"]).output().unwrap();
    assert_ne!(
        output.status.code(),
        Some(0),
        "validate without --config succeeded"
    );
}
