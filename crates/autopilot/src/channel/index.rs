//! `index.yaml`: the latest version a channel offers and where to download it per platform, as
//! k0s's update server writes it. k0rs adds the URLs of the artifacts' minisign signatures
//! (`k0sSignature`, `airgapSignature`); k0s ignores fields it does not know, so one index serves
//! both.

use serde::{Deserialize, Serialize};

/// The file a channel directory is served from.
pub const INDEX_FILE: &str = "index.yaml";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelIndex {
    #[serde(default)]
    pub channel: String,
    /// The version offered, e.g. `v1.28.16+k0rs.0`.
    #[serde(default)]
    pub version: String,
    /// When the channel's release line stops getting updates (free text in k0s, a date).
    #[serde(default)]
    pub eol_date: String,
    #[serde(default, rename = "downloadURLs")]
    pub download_urls: Vec<DownloadUrl>,
}

/// One platform's artifacts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownloadUrl {
    /// `amd64`, `arm64`, … (Go's names).
    #[serde(default)]
    pub arch: String,
    /// `linux`.
    #[serde(default)]
    pub os: String,
    /// The binary's URL (k0s's field name).
    #[serde(default, rename = "k0s")]
    pub binary: String,
    #[serde(default, rename = "k0sSha256")]
    pub binary_sha256: String,
    /// k0rs: the URL of the binary's minisign signature (`<binary>.minisig`).
    #[serde(
        default,
        rename = "k0sSignature",
        skip_serializing_if = "String::is_empty"
    )]
    pub binary_signature: String,
    #[serde(default)]
    pub airgap_bundle: String,
    #[serde(default)]
    pub airgap_sha256: String,
    /// k0rs: the URL of the airgap bundle's minisign signature.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub airgap_signature: String,
}

impl DownloadUrl {
    /// The platform key of a Plan's `platforms` map, `<os>-<arch>` (`linux-amd64`).
    pub fn platform(&self) -> String {
        format!("{}-{}", self.os, self.arch)
    }
}

impl ChannelIndex {
    pub fn from_yaml(text: &str) -> Result<Self, serde_yaml_ng::Error> {
        serde_yaml_ng::from_str(text)
    }

    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(self).expect("an index serialises")
    }
}

/// Where a channel's index is: k0s's rule — a server given as a URL is used as is (without a
/// trailing `/`), a bare host name means `https://<host>`.
pub fn index_url(update_server: &str, channel: &str) -> String {
    let server = if update_server.starts_with("http") {
        update_server.trim_end_matches('/').to_owned()
    } else {
        format!("https://{update_server}")
    };
    format!("{server}/{channel}/{INDEX_FILE}")
}

/// An index's URL for an artifact: absolute URLs as they are (k0s writes only those); a relative
/// one (what `publish` writes without a base URL) against the index's own URL, so a channel
/// directory can move between hosts.
pub fn resolve(index_url: &str, href: &str) -> String {
    if href.is_empty() || href.contains("://") {
        return href.to_owned();
    }
    let base = index_url
        .rsplit_once('/')
        .map_or(index_url, |(base, _)| base);
    format!("{base}/{}", href.trim_start_matches("./"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_k0s_index_reads() {
        let index = ChannelIndex::from_yaml(
            "channel: stable\nversion: v1.28.4+k0s.0\neolDate: 2024-10-28\ndownloadURLs:\n\
             - arch: amd64\n  os: linux\n  k0s: https://example.test/k0s-v1.28.4+k0s.0-amd64\n  \
             k0sSha256: abc\n  airgapBundle: https://example.test/bundle\n  airgapSha256: def\n",
        )
        .unwrap();
        assert_eq!(index.version, "v1.28.4+k0s.0");
        assert_eq!(index.eol_date, "2024-10-28");
        let platform = &index.download_urls[0];
        assert_eq!(platform.platform(), "linux-amd64");
        assert_eq!(platform.binary_sha256, "abc");
        assert_eq!(platform.airgap_sha256, "def");
        assert_eq!(platform.binary_signature, "");
    }

    #[test]
    fn the_k0rs_fields_round_trip_and_keep_k0s_names() {
        let index = ChannelIndex {
            channel: "stable".into(),
            version: "v1.28.16+k0rs.0".into(),
            eol_date: String::new(),
            download_urls: vec![DownloadUrl {
                arch: "amd64".into(),
                os: "linux".into(),
                binary: "http://h/stable/k0rs".into(),
                binary_sha256: "00".into(),
                binary_signature: "http://h/stable/k0rs.minisig".into(),
                ..DownloadUrl::default()
            }],
        };
        let yaml = index.to_yaml();
        for field in [
            "downloadURLs:",
            "k0s:",
            "k0sSha256:",
            "k0sSignature:",
            "eolDate:",
        ] {
            assert!(yaml.contains(field), "{field} missing from\n{yaml}");
        }
        assert_eq!(ChannelIndex::from_yaml(&yaml).unwrap(), index);
    }

    #[test]
    fn relative_urls_resolve_against_the_index() {
        let index = "http://10.0.0.1:8080/stable/index.yaml";
        assert_eq!(
            resolve(index, "k0rs-v1-amd64"),
            "http://10.0.0.1:8080/stable/k0rs-v1-amd64"
        );
        assert_eq!(resolve(index, "https://cdn/k0rs"), "https://cdn/k0rs");
        assert_eq!(resolve(index, ""), "");
    }

    #[test]
    fn the_index_url_follows_k0s() {
        assert_eq!(
            index_url("https://updates.k0sproject.io/", "stable"),
            "https://updates.k0sproject.io/stable/index.yaml"
        );
        assert_eq!(
            index_url("updates.example", "edge"),
            "https://updates.example/edge/index.yaml"
        );
        assert_eq!(
            index_url("http://127.0.0.1:8080", "c"),
            "http://127.0.0.1:8080/c/index.yaml"
        );
    }
}
