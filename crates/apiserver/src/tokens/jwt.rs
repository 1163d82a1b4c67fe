//! JSON Web Tokens signed with ES256 (ECDSA P-256, SHA-256), the algorithm of k0rs's
//! service-account key: `base64url(header).base64url(claims).base64url(r || s)`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, UnparsedPublicKey};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{PrivatePkcs8KeyDer, SubjectPublicKeyInfoDer};
use serde_json::Value;

/// Signs tokens with the private key, verifies them with the public one.
pub struct Keys {
    signing: EcdsaKeyPair,
    /// The uncompressed P-256 point of the public key.
    public: Vec<u8>,
    /// `kid` of the tokens: the SHA-256 of the public key (as kube-apiserver derives one).
    key_id: String,
    rng: SystemRandom,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the service-account private key is not a PKCS#8 P-256 key: {0}")]
    Private(String),
    #[error("the service-account public key is not a P-256 SubjectPublicKeyInfo: {0}")]
    Public(String),
}

/// Length of an uncompressed P-256 point (0x04 || x || y).
const POINT_LEN: usize = 65;

impl Keys {
    /// From `sa.key` (PKCS#8 PEM) and `sa.pub` (SubjectPublicKeyInfo PEM).
    pub fn from_pem(private_pem: &str, public_pem: &str) -> Result<Self, KeyError> {
        let pkcs8 = PrivatePkcs8KeyDer::from_pem_slice(private_pem.as_bytes())
            .map_err(|e| KeyError::Private(e.to_string()))?;
        let rng = SystemRandom::new();
        let signing = EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            pkcs8.secret_pkcs8_der(),
            &rng,
        )
        .map_err(|e| KeyError::Private(e.to_string()))?;
        let spki = SubjectPublicKeyInfoDer::from_pem_slice(public_pem.as_bytes())
            .map_err(|e| KeyError::Public(e.to_string()))?;
        // The point is the tail of the DER (the BIT STRING that closes the structure).
        let der: &[u8] = spki.as_ref();
        let public = der
            .get(der.len().saturating_sub(POINT_LEN)..)
            .filter(|p| p.len() == POINT_LEN && p[0] == 4)
            .ok_or_else(|| KeyError::Public("no uncompressed P-256 point".into()))?
            .to_vec();
        let digest = ring::digest::digest(&ring::digest::SHA256, der);
        Ok(Self {
            signing,
            public,
            key_id: B64.encode(digest.as_ref()),
            rng,
        })
    }

    /// A signed token carrying `claims`.
    pub fn sign(&self, claims: &Value) -> String {
        let header = serde_json::json!({ "alg": "ES256", "kid": self.key_id });
        let signed = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let signature = self
            .signing
            .sign(&self.rng, signed.as_bytes())
            .expect("ECDSA signing does not fail with a valid key");
        format!("{signed}.{}", B64.encode(signature.as_ref()))
    }

    /// The claims of `token` if this key signed it (`None` for anything else, including tokens
    /// that are not JWTs at all).
    pub fn verify(&self, token: &str) -> Option<Value> {
        let (signed, signature) = token.rsplit_once('.')?;
        let (header, claims) = signed.split_once('.')?;
        let header: Value = serde_json::from_slice(&B64.decode(header).ok()?).ok()?;
        if header["alg"] != "ES256" {
            return None;
        }
        let signature = B64.decode(signature).ok()?;
        UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &self.public)
            .verify(signed.as_bytes(), &signature)
            .ok()?;
        serde_json::from_slice(&B64.decode(claims).ok()?).ok()
    }

    /// The public key as a JSON Web Key Set (`/openid/v1/jwks`).
    pub fn jwks(&self) -> Value {
        let (x, y) = self.public[1..].split_at(32);
        serde_json::json!({ "keys": [{
            "use": "sig", "kty": "EC", "kid": self.key_id, "crv": "P-256", "alg": "ES256",
            "x": B64.encode(x), "y": B64.encode(y),
        }]})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_keys() -> Keys {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        Keys::from_pem(&key.serialize_pem(), &key.public_key_pem()).unwrap()
    }

    #[test]
    fn signed_tokens_verify_and_tampered_ones_do_not() {
        let keys = new_keys();
        let token = keys.sign(&serde_json::json!({ "sub": "system:serviceaccount:default:a" }));
        let claims = keys.verify(&token).unwrap();
        assert_eq!(claims["sub"], "system:serviceaccount:default:a");

        let (signed, signature) = token.rsplit_once('.').unwrap();
        let (header, _) = signed.split_once('.').unwrap();
        let forged = B64.encode(r#"{"sub":"system:serviceaccount:kube-system:admin"}"#);
        assert!(
            keys.verify(&format!("{header}.{forged}.{signature}"))
                .is_none()
        );
        assert!(
            new_keys().verify(&token).is_none(),
            "another key verified it"
        );
        assert!(keys.verify("abcdef.0123456789abcdef").is_none());
    }
}
