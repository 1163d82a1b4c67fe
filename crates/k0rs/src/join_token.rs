//! Join tokens in k0s's format: what `k0rs token create` prints and `k0rs worker --token-file`
//! reads. A join token is the standard base64 of a gzip stream of a kubeconfig with one cluster
//! (the server to join and the cluster CA) and one user who authenticates with a bootstrap token
//! (`<id>.<secret>`). The user's name says the role: `kubelet-bootstrap` for workers,
//! `controller-bootstrap` for controllers (k0s: `pkg/token/kubeconfig.go`).

use std::io::{Read as _, Write as _};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};

/// The name of the kubeconfig's cluster and context, as k0s names them.
const KUBECONFIG_NAME: &str = "k0s";

/// What a node joins the cluster as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    Worker,
    Controller,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Worker => "worker",
            Role::Controller => "controller",
        }
    }

    /// The kubeconfig user of a join token of this role.
    pub fn kubeconfig_user(self) -> &'static str {
        match self {
            Role::Worker => "kubelet-bootstrap",
            Role::Controller => "controller-bootstrap",
        }
    }
}

/// A decoded join token: where to join, whom to trust, and how to authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinToken {
    /// The server to join: the Kubernetes API for workers, the k0s join API for controllers.
    pub server: String,
    /// The cluster CA certificate (PEM).
    pub ca_pem: String,
    /// The kubeconfig user: `kubelet-bootstrap` or `controller-bootstrap`.
    pub user: String,
    /// The bootstrap token, `<id>.<secret>`.
    pub bootstrap_token: String,
}

/// Why a text is not a join token.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("the join token is empty")]
    Empty,
    #[error("the join token is not valid base64")]
    NotBase64(#[source] base64::DecodeError),
    #[error("the join token is not gzip-compressed data")]
    NotGzip(#[source] std::io::Error),
    #[error("the join token does not hold a kubeconfig")]
    NotKubeconfig(#[source] serde_yaml_ng::Error),
    #[error("the join token names no server to join")]
    NoServer,
    #[error("the join token has no CA certificate")]
    NoCa,
    #[error("the join token's CA certificate is not valid base64 PEM text")]
    BadCa,
    #[error("the join token has no bootstrap token")]
    NoBootstrapToken,
}

impl JoinToken {
    pub fn new(role: Role, server: String, ca_pem: String, bootstrap_token: String) -> Self {
        Self {
            server,
            ca_pem,
            user: role.kubeconfig_user().to_owned(),
            bootstrap_token,
        }
    }

    /// The role the kubeconfig user names, if it is one k0s knows.
    pub fn role(&self) -> Option<Role> {
        [Role::Worker, Role::Controller]
            .into_iter()
            .find(|role| role.kubeconfig_user() == self.user)
    }

    /// The kubeconfig the token carries, as YAML.
    pub fn kubeconfig(&self) -> String {
        let document = Kubeconfig {
            api_version: "v1".into(),
            clusters: vec![NamedCluster {
                cluster: Cluster {
                    certificate_authority_data: STANDARD.encode(&self.ca_pem),
                    server: self.server.clone(),
                },
                name: KUBECONFIG_NAME.into(),
            }],
            contexts: vec![NamedContext {
                context: Context {
                    cluster: KUBECONFIG_NAME.into(),
                    user: self.user.clone(),
                },
                name: KUBECONFIG_NAME.into(),
            }],
            current_context: KUBECONFIG_NAME.into(),
            kind: "Config".into(),
            preferences: Preferences {},
            users: vec![NamedUser {
                name: self.user.clone(),
                user: User {
                    token: self.bootstrap_token.clone(),
                },
            }],
        };
        serde_yaml_ng::to_string(&document).expect("a kubeconfig always serialises")
    }

    /// The token as k0s prints it: base64 of the gzip-compressed kubeconfig.
    pub fn encode(&self) -> String {
        let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
        gzip.write_all(self.kubeconfig().as_bytes())
            .expect("writing to memory cannot fail");
        STANDARD.encode(gzip.finish().expect("writing to memory cannot fail"))
    }

    /// Reads a join token as `k0s token create` prints it; whitespace (a file's trailing newline,
    /// a wrapped line) is ignored.
    pub fn decode(text: &str) -> Result<Self, DecodeError> {
        let compact: String = text.split_ascii_whitespace().collect();
        if compact.is_empty() {
            return Err(DecodeError::Empty);
        }
        let compressed = STANDARD.decode(compact).map_err(DecodeError::NotBase64)?;
        let mut yaml = String::new();
        GzDecoder::new(compressed.as_slice())
            .read_to_string(&mut yaml)
            .map_err(DecodeError::NotGzip)?;
        Self::from_kubeconfig(&yaml)
    }

    /// The join token of a kubeconfig: its current context's cluster and user (or the first
    /// ones, as k0s has only one of each).
    fn from_kubeconfig(yaml: &str) -> Result<Self, DecodeError> {
        let document: Kubeconfig =
            serde_yaml_ng::from_str(yaml).map_err(DecodeError::NotKubeconfig)?;
        let context = document
            .contexts
            .iter()
            .find(|c| c.name == document.current_context)
            .or_else(|| document.contexts.first())
            .map(|c| &c.context);
        let cluster = match context {
            Some(context) => document.clusters.iter().find(|c| c.name == context.cluster),
            None => document.clusters.first(),
        }
        .map(|c| &c.cluster)
        .filter(|c| !c.server.is_empty())
        .ok_or(DecodeError::NoServer)?;
        let user = match context {
            Some(context) => document.users.iter().find(|u| u.name == context.user),
            None => document.users.first(),
        }
        .filter(|u| !u.user.token.is_empty())
        .ok_or(DecodeError::NoBootstrapToken)?;
        if cluster.certificate_authority_data.is_empty() {
            return Err(DecodeError::NoCa);
        }
        let ca_pem = STANDARD
            .decode(&cluster.certificate_authority_data)
            .ok()
            .and_then(|pem| String::from_utf8(pem).ok())
            .ok_or(DecodeError::BadCa)?;
        Ok(Self {
            server: cluster.server.clone(),
            ca_pem,
            user: user.name.clone(),
            bootstrap_token: user.user.token.clone(),
        })
    }
}

// The kubeconfig subset a join token uses. Keys are written in the order client-go writes them
// (alphabetical), so the YAML reads like k0s's.

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Kubeconfig {
    #[serde(rename = "apiVersion", default)]
    api_version: String,
    #[serde(default)]
    clusters: Vec<NamedCluster>,
    #[serde(default)]
    contexts: Vec<NamedContext>,
    #[serde(default)]
    current_context: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    preferences: Preferences,
    #[serde(default)]
    users: Vec<NamedUser>,
}

#[derive(Debug, Serialize, Deserialize)]
struct NamedCluster {
    cluster: Cluster,
    name: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Cluster {
    #[serde(default)]
    certificate_authority_data: String,
    #[serde(default)]
    server: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct NamedContext {
    context: Context,
    name: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Context {
    #[serde(default)]
    cluster: String,
    #[serde(default)]
    user: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct NamedUser {
    name: String,
    #[serde(default)]
    user: User,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct User {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    token: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Preferences {}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    fn worker_token() -> JoinToken {
        JoinToken::new(
            Role::Worker,
            "https://10.0.0.1:6443".into(),
            CA.into(),
            "abcdef.0123456789abcdef".into(),
        )
    }

    fn gzip_base64(text: &str) -> String {
        let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
        gzip.write_all(text.as_bytes()).unwrap();
        STANDARD.encode(gzip.finish().unwrap())
    }

    #[test]
    fn tokens_round_trip_with_k0s_names() {
        let token = worker_token();
        let yaml = token.kubeconfig();
        assert!(yaml.contains("current-context: k0s"), "{yaml}");
        assert!(yaml.contains("name: kubelet-bootstrap"), "{yaml}");
        assert!(yaml.contains("token: abcdef.0123456789abcdef"), "{yaml}");
        let decoded = JoinToken::decode(&format!("{}\n", token.encode())).unwrap();
        assert_eq!(decoded, token);
        assert_eq!(decoded.role(), Some(Role::Worker));
    }

    #[test]
    fn k0s_shaped_kubeconfigs_decode() {
        // The layout of k0s's kubeconfig template, with fields this decoder does not use.
        let yaml = format!(
            "apiVersion: v1\nclusters:\n- cluster:\n    server: https://[fd00::1]:9443\n    \
             certificate-authority-data: {}\n  name: k0s\ncontexts:\n- context:\n    cluster: k0s\n    \
             user: controller-bootstrap\n  name: k0s\ncurrent-context: k0s\nkind: Config\n\
             preferences: {{}}\nusers:\n- name: controller-bootstrap\n  user:\n    \
             token: zyxwvu.0123456789abcdef\n",
            STANDARD.encode(CA)
        );
        let token = JoinToken::decode(&gzip_base64(&yaml)).unwrap();
        assert_eq!(token.server, "https://[fd00::1]:9443");
        assert_eq!(token.ca_pem, CA);
        assert_eq!(token.bootstrap_token, "zyxwvu.0123456789abcdef");
        assert_eq!(token.role(), Some(Role::Controller));
    }

    #[test]
    fn broken_tokens_say_what_is_wrong() {
        let error = |text: &str| JoinToken::decode(text).unwrap_err().to_string();
        assert_eq!(error(" \n"), "the join token is empty");
        assert_eq!(error("not base64!"), "the join token is not valid base64");
        assert_eq!(
            error(&STANDARD.encode("plain text")),
            "the join token is not gzip-compressed data"
        );
        assert_eq!(
            error(&gzip_base64("- a list\n- not a kubeconfig\n")),
            "the join token does not hold a kubeconfig"
        );
        let without_token = worker_token()
            .kubeconfig()
            .replace("token: abcdef.0123456789abcdef", "{}");
        assert_eq!(
            error(&gzip_base64(&without_token)),
            "the join token has no bootstrap token"
        );
        let without_server = worker_token()
            .kubeconfig()
            .replace("server: https://10.0.0.1:6443", "");
        assert_eq!(
            error(&gzip_base64(&without_server)),
            "the join token names no server to join"
        );
        let without_ca = JoinToken {
            ca_pem: String::new(),
            ..worker_token()
        };
        assert_eq!(
            error(&without_ca.encode()),
            "the join token has no CA certificate"
        );
    }
}
