use std::io::Cursor;

use super::*;
use crate::signature::TrustedKeys;

/// A k0rs binary for tests: this test executable, which links the version marker, stamped.
fn binary(dir: &Path, version: &str) -> PathBuf {
    let mut bytes = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    k0rs_version::stamp(&mut bytes, version).unwrap();
    let path = dir.join(format!("build-{version}"));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn publish<'a>(dir: &'a Path, binary: &'a Path, key: Option<&'a SigningKey>) -> Publish<'a> {
    Publish {
        dir,
        channel: "stable",
        version: None,
        binary,
        os: "linux",
        arch: "amd64",
        airgap_bundle: None,
        signing_key: key,
        base_url: Some("http://127.0.0.1:8080/"),
        eol_date: "",
    }
}

#[test]
fn a_channel_is_laid_out_with_checksum_signature_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let build = binary(dir.path(), "1.28.15+k0rs.7");
    let key = SigningKey::generate().unwrap();
    let out = dir.path().join("channels");
    let published = publish(&out, &build, Some(&key)).run().unwrap();
    assert_eq!(published.version, "v1.28.15+k0rs.7");

    let index = ChannelIndex::from_yaml(
        &std::fs::read_to_string(out.join("stable").join(INDEX_FILE)).unwrap(),
    )
    .unwrap();
    assert_eq!(index.channel, "stable");
    assert_eq!(index.version, "v1.28.15+k0rs.7");
    let entry = &index.download_urls[0];
    assert_eq!(entry.platform(), "linux-amd64");
    assert_eq!(
        entry.binary,
        "http://127.0.0.1:8080/stable/k0rs-v1.28.15+k0rs.7-amd64"
    );
    assert_eq!(entry.binary_signature, format!("{}.minisig", entry.binary));
    let copied = std::fs::read(out.join("stable/k0rs-v1.28.15+k0rs.7-amd64")).unwrap();
    assert_eq!(copied, std::fs::read(&build).unwrap());
    assert_eq!(entry.binary_sha256, sha256_hex(copied.as_slice()).unwrap());
    assert_eq!(entry.binary_sha256.len(), 64);

    let signature =
        std::fs::read_to_string(out.join("stable/k0rs-v1.28.15+k0rs.7-amd64.minisig")).unwrap();
    let trusted = TrustedKeys::parse(&[key.public_key()]).unwrap();
    assert_eq!(
        trusted.verify(Cursor::new(&copied), &signature).unwrap(),
        key.key_id()
    );
}

#[test]
fn another_architecture_joins_the_index_and_another_version_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("channels");
    let a = binary(dir.path(), "1.28.15+k0rs.1");
    publish(&out, &a, None).run().unwrap();
    let mut arm = publish(&out, &a, None);
    arm.arch = "arm64";
    arm.run().unwrap();
    let read = || {
        ChannelIndex::from_yaml(&std::fs::read_to_string(out.join("stable/index.yaml")).unwrap())
            .unwrap()
    };
    assert_eq!(read().download_urls.len(), 2);
    assert!(
        read().download_urls[0].binary_signature.is_empty(),
        "no key, no signature"
    );

    let b = binary(dir.path(), "1.28.15+k0rs.2");
    publish(&out, &b, None).run().unwrap();
    let index = read();
    assert_eq!(index.version, "v1.28.15+k0rs.2");
    assert_eq!(index.download_urls.len(), 1);
}

#[test]
fn a_binary_that_reports_another_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let build = binary(dir.path(), "1.28.15+k0rs.1");
    let out = dir.path().join("channels");
    let mut wrong = publish(&out, &build, None);
    wrong.version = Some("v1.28.15+k0rs.2");
    assert!(matches!(
        wrong.run(),
        Err(PublishError::VersionMismatch { .. })
    ));
    let mut right = publish(&out, &build, None);
    right.version = Some("v1.28.15+k0rs.1");
    right.run().unwrap();

    let not_k0rs = dir.path().join("not-k0rs");
    std::fs::write(&not_k0rs, b"#!/bin/sh\nexit 0\n").unwrap();
    assert!(matches!(
        publish(&out, &not_k0rs, None).run(),
        Err(PublishError::NotK0rs { .. })
    ));
}

#[test]
fn relative_urls_without_a_base() {
    let dir = tempfile::tempdir().unwrap();
    let build = binary(dir.path(), "1.28.15+k0rs.1");
    let out = dir.path().join("channels");
    let mut relative = publish(&out, &build, None);
    relative.base_url = None;
    let published = relative.run().unwrap();
    assert_eq!(published.entry.binary, "k0rs-v1.28.15+k0rs.1-amd64");
}

#[test]
fn channel_names_stay_inside_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let build = binary(dir.path(), "1.28.15+k0rs.1");
    for bad in ["", "..", "a/b", ".hidden"] {
        let mut p = publish(dir.path(), &build, None);
        p.channel = bad;
        assert!(
            matches!(p.run(), Err(PublishError::BadChannel(_))),
            "{bad:?}"
        );
    }
}
