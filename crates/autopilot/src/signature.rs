//! Signatures of update artifacts in minisign's format (Ed25519 over the BLAKE2b-512 hash of the
//! file, with a signed trusted comment), so Debian's `minisign -V` checks what k0rs signs and k0rs
//! checks what `minisign -S` signs. Built on the `minisign` crate (jedisct1's, the format's
//! author; signing and verifying in pure Rust, no C).
//!
//! Trusted keys are minisign public keys as strings: the base64 line of a `minisign.pub` (what
//! `minisign -P` takes), or the whole file with its comment line.

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use minisign::{PublicKey, PublicKeyBox, SecretKey, SecretKeyBox, SignatureBox};

/// The file name of a signature beside its artifact.
pub const SIGNATURE_SUFFIX: &str = ".minisig";

#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("trusted key {index}: not a minisign public key: {reason}")]
    BadPublicKey { index: usize, reason: String },
    #[error("cannot read the signing key {path}: {reason}")]
    BadSecretKey { path: PathBuf, reason: String },
    #[error("the signing key {path} is encrypted (its password is needed) or corrupt: {reason}")]
    EncryptedSecretKey { path: PathBuf, reason: String },
    #[error("not a minisign signature: {0}")]
    BadSignature(String),
    #[error("signed by key {key_id}, which is not trusted")]
    UntrustedKey { key_id: String },
    #[error("the signature by key {key_id} does not match the content: {reason}")]
    Mismatch { key_id: String, reason: String },
    #[error("cannot sign: {0}")]
    Sign(String),
}

/// A key's id as minisign prints it (`minisign public key 8D2C9E0A1F3B4C5D`).
fn key_id(keynum: &[u8]) -> String {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&keynum[..8]);
    format!("{:016X}", u64::from_le_bytes(bytes))
}

/// The public keys a cluster trusts.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: Vec<PublicKey>,
}

impl TrustedKeys {
    pub fn parse<S: AsRef<str>>(keys: &[S]) -> Result<Self, SignatureError> {
        let keys = keys
            .iter()
            .enumerate()
            .map(|(index, key)| {
                parse_public_key(key.as_ref())
                    .map_err(|reason| SignatureError::BadPublicKey { index, reason })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { keys })
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The ids of the keys, as minisign prints them.
    pub fn ids(&self) -> Vec<String> {
        self.keys.iter().map(|k| key_id(k.keynum())).collect()
    }

    /// Checks `signature` (a `.minisig` file's text) over `content`, and returns the id of the
    /// trusted key that made it. Legacy (non-prehashed) signatures are refused.
    pub fn verify<R: Read + Seek>(
        &self,
        content: R,
        signature: &str,
    ) -> Result<String, SignatureError> {
        let signature = SignatureBox::from_string(signature)
            .map_err(|e| SignatureError::BadSignature(e.to_string()))?;
        let key_id = key_id(signature.keynum());
        let key = self
            .keys
            .iter()
            .find(|k| k.keynum() == signature.keynum())
            .ok_or_else(|| SignatureError::UntrustedKey {
                key_id: key_id.clone(),
            })?;
        minisign::verify(key, &signature, content, true, false, false).map_err(|e| {
            SignatureError::Mismatch {
                key_id: key_id.clone(),
                reason: e.to_string(),
            }
        })?;
        Ok(key_id)
    }
}

fn parse_public_key(text: &str) -> Result<PublicKey, String> {
    let text = text.trim();
    if text.starts_with("untrusted comment:") {
        PublicKeyBox::from_string(text)
            .and_then(PublicKeyBox::into_public_key)
            .map_err(|e| e.to_string())
    } else {
        PublicKey::from_base64(text).map_err(|e| e.to_string())
    }
}

/// An unencrypted secret key file (`minisign -G -W`). Read by hand rather than through
/// `SecretKeyBox`, which insists on the key checksum that Debian's minisign 0.11 leaves zero in
/// unencrypted keys; a damaged key still cannot sign, as `sign` checks each signature against the
/// public half of the key.
fn unencrypted_secret_key(text: &str) -> Result<SecretKey, String> {
    use base64::Engine as _;
    let line = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with("untrusted comment:"))
        .ok_or("no key in the file")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(line)
        .map_err(|e| format!("not base64: {e}"))?;
    // sig_alg (2), kdf_alg (2): no key derivation means no password.
    match bytes.get(2..4) {
        Some([0, 0]) => SecretKey::from_bytes(&bytes).map_err(|e| e.to_string()),
        Some(_) => Err("encrypted with a password".to_owned()),
        None => Err("too short".to_owned()),
    }
}

/// A secret key to sign with: a minisign secret key file (`minisign -G` writes one), encrypted
/// with a password or not (`-W`).
pub struct SigningKey {
    key: SecretKey,
    public: PublicKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_id", &key_id(self.public.keynum()))
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Reads the key file; `password` decrypts an encrypted key (never prompted for).
    pub fn load(path: &Path, password: Option<&str>) -> Result<Self, SignatureError> {
        let bad = |reason: String| SignatureError::BadSecretKey {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let key = match password {
            Some(password) => SecretKeyBox::from_string(&text)
                .and_then(|boxed| boxed.into_secret_key(Some(password.to_owned())))
                .map_err(|e| bad(e.to_string()))?,
            None => unencrypted_secret_key(&text).map_err(|reason| {
                SignatureError::EncryptedSecretKey {
                    path: path.to_owned(),
                    reason,
                }
            })?,
        };
        let public = PublicKey::from_secret_key(&key).map_err(|e| bad(e.to_string()))?;
        Ok(Self { key, public })
    }

    /// A new key pair, unencrypted: for tests and for release tooling that keeps the key in a
    /// secret store rather than behind a password.
    pub fn generate() -> Result<Self, SignatureError> {
        let pair = minisign::KeyPair::generate_unencrypted_keypair()
            .map_err(|e| SignatureError::Sign(e.to_string()))?;
        Ok(Self {
            key: pair.sk,
            public: pair.pk,
        })
    }

    /// The public key file's text, as `minisign -G` writes `minisign.pub`.
    pub fn public_key_file(&self) -> String {
        self.public
            .to_box()
            .map(PublicKeyBox::into_string)
            .expect("a public key boxes")
    }

    /// The public key's base64 line (what `minisign -P` and `trustedKeys` take).
    pub fn public_key(&self) -> String {
        self.public.to_base64()
    }

    /// The secret key file's text (unencrypted).
    pub fn secret_key_file(&self) -> String {
        self.key
            .to_box(None)
            .map(SecretKeyBox::into_string)
            .expect("a secret key boxes")
    }

    pub fn key_id(&self) -> String {
        key_id(self.public.keynum())
    }

    /// Signs `content`; `file_name` goes into the trusted comment, as minisign's own.
    pub fn sign<R: Read>(&self, content: R, file_name: &str) -> Result<String, SignatureError> {
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let trusted = format!("timestamp:{timestamp}\tfile:{file_name}\thashed");
        minisign::sign(
            Some(&self.public),
            &self.key,
            content,
            Some(&trusted),
            Some("signature from k0rs secret key"),
        )
        .map(SignatureBox::into_string)
        .map_err(|e| SignatureError::Sign(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    #[test]
    fn what_a_trusted_key_signs_verifies() {
        let key = SigningKey::generate().unwrap();
        let signature = key.sign(Cursor::new(b"binary"), "k0rs").unwrap();
        let trusted = TrustedKeys::parse(&[key.public_key()]).unwrap();
        assert_eq!(
            trusted.verify(Cursor::new(b"binary"), &signature).unwrap(),
            key.key_id()
        );
        let from_file = TrustedKeys::parse(&[key.public_key_file()]).unwrap();
        assert_eq!(from_file.ids(), [key.key_id()]);
    }

    #[test]
    fn a_changed_byte_is_refused() {
        let key = SigningKey::generate().unwrap();
        let signature = key.sign(Cursor::new(b"binary"), "k0rs").unwrap();
        let trusted = TrustedKeys::parse(&[key.public_key()]).unwrap();
        assert!(matches!(
            trusted.verify(Cursor::new(b"binarY"), &signature),
            Err(SignatureError::Mismatch { .. })
        ));
    }

    #[test]
    fn a_signature_by_another_key_is_refused() {
        let (ours, theirs) = (
            SigningKey::generate().unwrap(),
            SigningKey::generate().unwrap(),
        );
        let signature = theirs.sign(Cursor::new(b"binary"), "k0rs").unwrap();
        let trusted = TrustedKeys::parse(&[ours.public_key()]).unwrap();
        let error = trusted
            .verify(Cursor::new(b"binary"), &signature)
            .unwrap_err();
        assert!(
            matches!(&error, SignatureError::UntrustedKey { key_id } if *key_id == theirs.key_id()),
            "{error}"
        );
    }

    #[test]
    fn garbage_keys_and_signatures_are_errors() {
        assert!(matches!(
            TrustedKeys::parse(&["RWQnot-a-key"]),
            Err(SignatureError::BadPublicKey { index: 0, .. })
        ));
        let trusted = TrustedKeys::parse(&[SigningKey::generate().unwrap().public_key()]).unwrap();
        assert!(matches!(
            trusted.verify(Cursor::new(b""), "nonsense"),
            Err(SignatureError::BadSignature(_))
        ));
    }

    #[test]
    fn a_key_file_round_trips() {
        let key = SigningKey::generate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k0rs.key");
        std::fs::write(&path, key.secret_key_file()).unwrap();
        let loaded = SigningKey::load(&path, None).unwrap();
        assert_eq!(loaded.key_id(), key.key_id());
    }
}
