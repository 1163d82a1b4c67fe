//! A release step stamps another version into a copy of the binary (`k0rs update-server stamp`),
//! and the copy reports it everywhere `k0rs version` does; the original is unchanged.

mod harness;

use harness::{k0rs, path_str, stderr, stdout};

fn version_of(binary: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new(binary)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_owned()
}

#[test]
fn a_stamped_copy_reports_the_stamped_version() {
    let dir = tempfile::tempdir().unwrap();
    let original = assert_cmd::cargo::cargo_bin!("k0rs");
    let built = version_of(original, &["version"]);
    assert_eq!(built, format!("v{}", env!("CARGO_PKG_VERSION")));

    let copy = dir.path().join("k0rs-b");
    let out = k0rs(&[
        "update-server",
        "stamp",
        "--version",
        "v1.29.2+k0rs.4",
        path_str(original),
        path_str(&copy),
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(version_of(&copy, &["version"]), "v1.29.2+k0rs.4");
    assert_eq!(version_of(&copy, &["--version"]), "k0rs v1.29.2+k0rs.4");
    let json: serde_json::Value =
        serde_json::from_str(&version_of(&copy, &["version", "--json"])).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"k0rs": "v1.29.2+k0rs.4", "kubernetes": "v1.29.2"})
    );
    assert_eq!(
        version_of(original, &["version"]),
        built,
        "the original is untouched"
    );

    // A copy of the copy can be stamped again, to an older version too.
    let again = dir.path().join("k0rs-c");
    let out = k0rs(&[
        "update-server",
        "stamp",
        "--version",
        "1.28.15+k0rs.1",
        path_str(&copy),
        path_str(&again),
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(version_of(&again, &["version"]), "v1.28.15+k0rs.1");
}

#[test]
fn what_cannot_be_stamped_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let original = assert_cmd::cargo::cargo_bin!("k0rs");
    let copy = dir.path().join("k0rs-b");
    let out = k0rs(&[
        "update-server",
        "stamp",
        "--version",
        "latest",
        path_str(original),
        path_str(&copy),
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("\"latest\" is not a version"),
        "{}",
        stderr(&out)
    );
    assert!(!copy.exists());

    let script = dir.path().join("not-k0rs");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    let out = k0rs(&[
        "update-server",
        "stamp",
        "--version",
        "1.28.15+k0rs.1",
        path_str(&script),
        path_str(&copy),
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not a k0rs binary"),
        "{}",
        stderr(&out)
    );
    assert!(!copy.exists());
}
