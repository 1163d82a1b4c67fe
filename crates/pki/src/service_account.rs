//! The key pair that signs service-account tokens: `sa.key` (private, PKCS#8) and `sa.pub`.

use std::path::Path;

use crate::authority::generate_key;
use crate::error::{PkiError, Result};
use crate::files::{self, PUBLIC_MODE, SECRET_MODE};
use crate::material::parse_key;

/// Makes sure `<dir>/sa.key` and `<dir>/sa.pub` exist and belong together.
pub fn ensure_service_account_keys(dir: &Path) -> Result<()> {
    let key_path = dir.join("sa.key");
    let pub_path = dir.join("sa.pub");
    match (
        files::read_optional(&key_path)?,
        files::read_optional(&pub_path)?,
    ) {
        (None, None) => {
            let key = generate_key("service-account key")?;
            files::write_if_changed(&key_path, &key.serialize_pem(), SECRET_MODE)?;
            files::write_if_changed(&pub_path, &key.public_key_pem(), PUBLIC_MODE)?;
            tracing::info!(component = "pki", file = %key_path.display(), "created service-account key pair");
            Ok(())
        }
        (Some(_), None) => Err(PkiError::HalfPair {
            present: key_path,
            missing: pub_path,
        }),
        (None, Some(_)) => Err(PkiError::HalfPair {
            present: pub_path,
            missing: key_path,
        }),
        (Some(key_text), Some(pub_text)) => {
            let key = parse_key(&key_path, &key_text)?;
            if normalise(&key.public_key_pem()) == normalise(&pub_text) {
                Ok(())
            } else {
                Err(PkiError::Mismatch {
                    path: pub_path,
                    reason: format!("public key does not belong to {}", key_path.display()),
                })
            }
        }
    }
}

fn normalise(pem: &str) -> String {
    pem.split_whitespace().collect()
}
