//! k0rs's signatures against Debian's `minisign` (the reference implementation): keys it makes
//! sign in k0rs, what k0rs signs it verifies, what it signs k0rs verifies, and both refuse a
//! changed byte.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use k0rs_autopilot::signature::{SignatureError, SigningKey, TrustedKeys};

fn minisign(args: &[&str]) -> std::process::Output {
    Command::new("minisign")
        .args(args)
        .output()
        .expect("Debian's minisign is installed (scripts/lib/host.sh TEST_PACKAGES)")
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A key pair made by minisign, without a password.
fn keys(dir: &Path) -> (PathBuf, PathBuf) {
    let (public, secret) = (dir.join("minisign.pub"), dir.join("minisign.key"));
    let out = minisign(&["-G", "-W", "-p", s(&public), "-s", s(&secret)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (public, secret)
}

#[test]
fn minisign_verifies_what_k0rs_signs_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let (public, secret) = keys(dir.path());
    let key = SigningKey::load(&secret, None).unwrap();
    let artifact = dir.path().join("k0rs");
    std::fs::write(&artifact, b"a k0rs binary").unwrap();
    let signature = dir.path().join("k0rs.minisig");
    std::fs::write(
        &signature,
        key.sign(Cursor::new(b"a k0rs binary"), "k0rs").unwrap(),
    )
    .unwrap();

    let out = minisign(&[
        "-V",
        "-p",
        s(&public),
        "-m",
        s(&artifact),
        "-x",
        s(&signature),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("file:k0rs"));

    std::fs::write(&artifact, b"a k0rs binarY").unwrap();
    let out = minisign(&[
        "-V",
        "-p",
        s(&public),
        "-m",
        s(&artifact),
        "-x",
        s(&signature),
    ]);
    assert!(!out.status.success());
}

#[test]
fn k0rs_verifies_what_minisign_signs_against_the_public_key_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let (public, secret) = keys(dir.path());
    let artifact = dir.path().join("bundle.tar");
    std::fs::write(&artifact, b"an airgap bundle").unwrap();
    let out = minisign(&["-S", "-s", s(&secret), "-m", s(&artifact)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signature = std::fs::read_to_string(dir.path().join("bundle.tar.minisig")).unwrap();

    // The key as trustedKeys takes it: the whole file, or only its base64 line.
    let file = std::fs::read_to_string(&public).unwrap();
    let line = file.lines().nth(1).unwrap().to_owned();
    for trusted in [file.clone(), line] {
        let trusted = TrustedKeys::parse(&[trusted]).unwrap();
        // minisign prints the id without leading zeros (`%llX`); k0rs pads it to 16 digits.
        let id = trusted.ids()[0].clone();
        assert!(
            file.contains(id.trim_start_matches('0')),
            "minisign names the key by this id ({id}): {file}"
        );
        trusted
            .verify(Cursor::new(b"an airgap bundle"), &signature)
            .unwrap();
        assert!(matches!(
            trusted.verify(Cursor::new(b"an airgap bundlE"), &signature),
            Err(SignatureError::Mismatch { .. })
        ));
    }

    let other = TrustedKeys::parse(&[SigningKey::generate().unwrap().public_key()]).unwrap();
    assert!(matches!(
        other.verify(Cursor::new(b"an airgap bundle"), &signature),
        Err(SignatureError::UntrustedKey { .. })
    ));
}
