//! The controller PKI on a real directory: creation, idempotence, and refusal to touch bad files.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use k0rs_pki::{ClusterPkiSpec, PkiError, San, api_server_sans, ensure_cluster_pki};

fn spec(dir: &Path, extra_sans: &[&str]) -> ClusterPkiSpec {
    let configured: Vec<String> = extra_sans.iter().map(ToString::to_string).collect();
    ClusterPkiSpec {
        dir: dir.to_path_buf(),
        api_server_sans: api_server_sans(
            "test-host",
            &["192.0.2.10".parse().unwrap()],
            "10.96.0.1".parse().unwrap(),
            "cluster.local",
            &configured,
        ),
        admin_server_url: "https://localhost:6443".into(),
    }
}

/// Every file under `dir` with its content, inode and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u64, i64, i64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else {
                out.insert(
                    path.clone(),
                    (
                        fs::read(&path).unwrap(),
                        meta.ino(),
                        meta.mtime(),
                        meta.mtime_nsec(),
                    ),
                );
            }
        }
    }
    out
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().mode() & 0o777
}

#[test]
fn creates_k0s_layout_with_private_modes_and_rerun_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = tmp.path().join("pki");
    ensure_cluster_pki(&spec(&pki, &[])).unwrap();
    for file in [
        "ca.crt",
        "ca.key",
        "front-proxy-ca.crt",
        "front-proxy-ca.key",
        "etcd/ca.crt",
        "etcd/ca.key",
        "server.crt",
        "server.key",
        "admin.crt",
        "admin.key",
        "sa.key",
        "sa.pub",
        "admin.conf",
    ] {
        assert!(pki.join(file).is_file(), "{file} missing");
    }
    for secret in [
        "ca.key",
        "front-proxy-ca.key",
        "etcd/ca.key",
        "server.key",
        "admin.key",
        "sa.key",
        "admin.conf",
    ] {
        assert_eq!(mode(&pki.join(secret)), 0o600, "{secret}");
    }
    assert_eq!(mode(&pki), 0o700);
    assert_eq!(mode(&pki.join("etcd")), 0o700);

    let before = snapshot(&pki);
    ensure_cluster_pki(&spec(&pki, &[])).unwrap();
    assert_eq!(before, snapshot(&pki), "a rerun changed files");
}

#[test]
fn corrupt_certificate_is_an_error_naming_it_and_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = tmp.path().join("pki");
    ensure_cluster_pki(&spec(&pki, &[])).unwrap();
    fs::write(pki.join("ca.crt"), "garbage").unwrap();
    let err = ensure_cluster_pki(&spec(&pki, &[])).unwrap_err();
    assert!(matches!(err, PkiError::Malformed { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(&pki.join("ca.crt").display().to_string()),
        "{err}"
    );
    assert_eq!(fs::read(pki.join("ca.crt")).unwrap(), b"garbage");
}

#[test]
fn key_of_another_certificate_is_a_mismatch() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = tmp.path().join("pki");
    ensure_cluster_pki(&spec(&pki, &[])).unwrap();
    fs::copy(pki.join("server.key"), pki.join("admin.key")).unwrap();
    let err = ensure_cluster_pki(&spec(&pki, &[])).unwrap_err();
    assert!(
        matches!(&err, PkiError::Mismatch { path, .. } if path.ends_with("admin.key")),
        "{err:?}"
    );
}

#[test]
fn certificate_from_another_authority_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (ours, theirs) = (tmp.path().join("ours"), tmp.path().join("theirs"));
    ensure_cluster_pki(&spec(&ours, &[])).unwrap();
    ensure_cluster_pki(&spec(&theirs, &[])).unwrap();
    for file in ["server.crt", "server.key"] {
        fs::copy(theirs.join(file), ours.join(file)).unwrap();
    }
    let err = ensure_cluster_pki(&spec(&ours, &[])).unwrap_err();
    assert!(
        matches!(&err, PkiError::Mismatch { path, .. } if path.ends_with("server.crt")),
        "{err:?}"
    );
    assert!(err.to_string().contains("not signed by"), "{err}");
}

#[test]
fn half_a_pair_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = tmp.path().join("pki");
    ensure_cluster_pki(&spec(&pki, &[])).unwrap();
    fs::remove_file(pki.join("etcd/ca.key")).unwrap();
    let err = ensure_cluster_pki(&spec(&pki, &[])).unwrap_err();
    assert!(
        matches!(&err, PkiError::HalfPair { missing, .. } if missing.ends_with("etcd/ca.key")),
        "{err:?}"
    );
    fs::remove_file(pki.join("sa.pub")).unwrap();
    fs::remove_file(pki.join("etcd/ca.crt")).unwrap();
    let err = ensure_cluster_pki(&spec(&pki, &[])).unwrap_err();
    assert!(
        matches!(&err, PkiError::HalfPair { missing, .. } if missing.ends_with("sa.pub")),
        "{err:?}"
    );
}

#[test]
fn new_configured_san_reissues_the_serving_certificate_over_the_same_key() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = tmp.path().join("pki");
    ensure_cluster_pki(&spec(&pki, &[])).unwrap();
    let key = fs::read(pki.join("server.key")).unwrap();
    let cert = fs::read(pki.join("server.crt")).unwrap();
    let ca = fs::read(pki.join("ca.crt")).unwrap();
    ensure_cluster_pki(&spec(&pki, &["api.example.com"])).unwrap();
    assert_eq!(
        fs::read(pki.join("server.key")).unwrap(),
        key,
        "serving key was replaced"
    );
    assert_eq!(
        fs::read(pki.join("ca.crt")).unwrap(),
        ca,
        "authority was replaced"
    );
    assert_ne!(
        fs::read(pki.join("server.crt")).unwrap(),
        cert,
        "certificate was not re-issued"
    );
    // The new certificate carries the name, so the next run keeps it.
    let before = snapshot(&pki);
    ensure_cluster_pki(&spec(&pki, &["api.example.com"])).unwrap();
    assert_eq!(before, snapshot(&pki));
    assert!(
        spec(&pki, &["api.example.com"])
            .api_server_sans
            .contains(&San::Dns("api.example.com".into()))
    );
}
