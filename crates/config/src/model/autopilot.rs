//! `spec.autopilot`, a k0rs field (k0s has none): the minisign public keys whose signatures
//! autopilot accepts on update artifacts (with keys configured, an artifact that is unsigned or
//! signed by another key is refused before anything is replaced), and how long a node may take
//! to become healthy on a new binary before it goes back to the previous one.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::field::{FieldErrors, FieldPath};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AutopilotSpec {
    /// Minisign public keys: the base64 line of a `minisign.pub` (what `minisign -P` takes), or
    /// the whole file with its `untrusted comment:` line.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::nullable::or_default"
    )]
    pub trusted_keys: Vec<String>,
    /// A Go duration (`5m`, `90s`): a node that is not healthy on the new binary this long after
    /// it restarted on it goes back to the previous binary. Default [`DEFAULT_HEALTH_TIMEOUT`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_timeout: Option<String>,
}

/// k0rs's default for `spec.autopilot.healthTimeout`.
pub const DEFAULT_HEALTH_TIMEOUT: &str = "5m";

impl AutopilotSpec {
    pub fn is_empty(&self) -> bool {
        self.trusted_keys.is_empty() && self.health_timeout.is_none()
    }

    pub(crate) fn validate(&self, path: &FieldPath, errors: &mut FieldErrors) {
        let keys = path.child("trustedKeys");
        for (i, key) in self.trusted_keys.iter().enumerate() {
            errors.check(&keys.index(i), minisign_public_key(key));
        }
        if let Some(timeout) = &self.health_timeout {
            errors.check(
                &path.child("healthTimeout"),
                crate::check::go_duration(timeout),
            );
        }
    }
}

/// A minisign Ed25519 public key: base64 of `Ed`, an 8-byte key id and the 32-byte key.
fn minisign_public_key(text: &str) -> Result<(), String> {
    let line = text
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty() && !line.starts_with("untrusted comment:"))
        .unwrap_or_default();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(line)
        .map_err(|e| format!("not a minisign public key (the base64 line of minisign.pub): {e}"))?;
    if bytes.len() != 42 || !bytes.starts_with(b"Ed") {
        return Err(
            "not a minisign public key (the base64 line of minisign.pub): expected an Ed25519 key of 42 bytes"
                .to_owned(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key as `minisign -G` writes it.
    const KEY: &str = "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3";

    fn errors(keys: &[&str]) -> Vec<String> {
        let spec = AutopilotSpec {
            health_timeout: None,
            trusted_keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        };
        let mut errors = FieldErrors::default();
        spec.validate(&FieldPath::root("spec").child("autopilot"), &mut errors);
        errors
            .into_vec()
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn minisign_public_keys_are_accepted_as_a_line_or_a_file() {
        assert!(errors(&[KEY]).is_empty());
        let file = format!("untrusted comment: minisign public key E7620F1842B4E81F\n{KEY}\n");
        assert!(errors(&[&file]).is_empty());
    }

    #[test]
    fn anything_else_is_an_error_naming_the_item() {
        let found = errors(&[KEY, "not base64!", "aGVsbG8="]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("spec.autopilot.trustedKeys[1]: "),
            "{found:?}"
        );
        assert!(
            found[1].starts_with("spec.autopilot.trustedKeys[2]: "),
            "{found:?}"
        );
    }
}
