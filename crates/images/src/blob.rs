//! Content-addressed blobs of an OCI image layout and the descriptors that point at them.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::Platform;
use crate::error::{ImageError, Result};

/// A blob with its media type; its name in the layout is the sha256 of its bytes.
pub(crate) struct Blob {
    pub(crate) media_type: &'static str,
    pub(crate) bytes: Vec<u8>,
    hex: String,
}

/// An OCI content descriptor (`mediaType`, `digest`, `size`, and for index entries the
/// annotations that name the image and the platform it runs on).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    pub(crate) media_type: &'static str,
    pub(crate) digest: String,
    pub(crate) size: usize,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) annotations: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) platform: Option<Platform>,
}

impl Blob {
    pub(crate) fn new(media_type: &'static str, bytes: Vec<u8>) -> Self {
        let hex = sha256_hex(&bytes);
        Self {
            media_type,
            bytes,
            hex,
        }
    }

    /// A JSON blob; serde_json writes struct fields in declaration order, so the bytes (and the
    /// digest) are stable.
    pub(crate) fn json(
        media_type: &'static str,
        value: &impl Serialize,
        what: &'static str,
    ) -> Result<Self> {
        let bytes =
            serde_json::to_vec(value).map_err(|source| ImageError::Json { what, source })?;
        Ok(Self::new(media_type, bytes))
    }

    pub(crate) fn digest(&self) -> String {
        format!("sha256:{}", self.hex)
    }

    /// Where the blob lives in an OCI image layout (and what docker's manifest.json points at).
    pub(crate) fn path(&self) -> String {
        format!("blobs/sha256/{}", self.hex)
    }

    pub(crate) fn descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: self.media_type,
            digest: self.digest(),
            size: self.bytes.len(),
            annotations: BTreeMap::new(),
            platform: None,
        }
    }
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_the_sha256_of_the_bytes() {
        let blob = Blob::new("text/plain", b"abc".to_vec());
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(blob.digest(), format!("sha256:{hex}"));
        assert_eq!(blob.path(), format!("blobs/sha256/{hex}"));
        assert_eq!(blob.descriptor().size, 3);
    }
}
