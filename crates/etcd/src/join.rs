//! The join API's messages (k0s's `v1beta1` control types): what a joining controller asks a
//! running one for, and gets. Byte fields are base64 in JSON, as Go encodes `[]byte`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `GET /v1beta1/ca`: the cluster CA and the service-account key pair; k0rs adds the
/// front-proxy CA, which every API server of a cluster must share for aggregation to work
/// through any of them (k0s clients ignore the extra fields).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaResponse {
    #[serde(with = "bytes")]
    pub key: Vec<u8>,
    #[serde(with = "bytes")]
    pub cert: Vec<u8>,
    #[serde(with = "bytes", default)]
    pub sa_key: Vec<u8>,
    #[serde(with = "bytes", default)]
    pub sa_pub: Vec<u8>,
    #[serde(with = "bytes", default, skip_serializing_if = "Vec::is_empty")]
    pub front_proxy_key: Vec<u8>,
    #[serde(with = "bytes", default, skip_serializing_if = "Vec::is_empty")]
    pub front_proxy_cert: Vec<u8>,
}

/// `POST /v1beta1/etcd/members`: the joining controller's member name and peer URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EtcdRequest {
    pub node: String,
    pub peer_address: String,
}

/// The answer: the etcd CA, and the cluster to start with (`<name>=<peer URL>` each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EtcdResponse {
    pub ca: CaResponse,
    pub initial_cluster: Vec<String>,
}

impl EtcdRequest {
    /// Why the request cannot be served, if it cannot.
    pub fn problem(&self) -> Option<&'static str> {
        if self.node.is_empty() {
            Some("node cannot be empty")
        } else if self.peer_address.is_empty() {
            Some("peerAddress cannot be empty")
        } else {
            None
        }
    }

    /// The peer URL asked for: k0rs sends one; a bare address means etcd's peer port on it.
    pub fn peer_url(&self) -> String {
        if self.peer_address.contains("://") {
            self.peer_address.clone()
        } else if self.peer_address.contains(':') && !self.peer_address.starts_with('[') {
            format!("https://[{}]:{}", self.peer_address, crate::PEER_PORT)
        } else {
            format!("https://{}:{}", self.peer_address, crate::PEER_PORT)
        }
    }
}

mod bytes {
    use super::*;

    pub fn serialize<S: Serializer>(value: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
        STANDARD
            .decode(text)
            .map_err(|e| serde::de::Error::custom(format!("not base64: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_base64_as_go_writes_them() {
        let response = EtcdResponse {
            ca: CaResponse {
                key: b"k".to_vec(),
                cert: b"c".to_vec(),
                ..CaResponse::default()
            },
            initial_cluster: vec!["a=https://10.0.0.1:2380".into()],
        };
        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(json["ca"]["key"], "aw==");
        assert_eq!(json["initialCluster"][0], "a=https://10.0.0.1:2380");
        let back: EtcdResponse = serde_json::from_value(json).unwrap();
        assert_eq!(back, response);
    }

    #[test]
    fn a_bare_peer_address_means_the_peer_port() {
        let request = |a: &str| EtcdRequest {
            node: "n".into(),
            peer_address: a.into(),
        };
        assert_eq!(request("10.0.0.3").peer_url(), "https://10.0.0.3:2380");
        assert_eq!(request("fd00::3").peer_url(), "https://[fd00::3]:2380");
        assert_eq!(
            request("https://10.0.0.3:12380").peer_url(),
            "https://10.0.0.3:12380"
        );
        assert_eq!(request("").problem(), Some("peerAddress cannot be empty"));
    }
}
