//! Kubeconfig files (`apiVersion: v1, kind: Config`) that authenticate with a client certificate.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

/// A kubeconfig with one cluster, one user and one context, as kubectl reads it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Kubeconfig {
    api_version: &'static str,
    kind: &'static str,
    clusters: Vec<Named<Cluster>>,
    contexts: Vec<Named<Context>>,
    current_context: String,
    preferences: Preferences,
    users: Vec<Named<User>>,
}

#[derive(Debug, Clone, Serialize)]
struct Named<T> {
    name: String,
    #[serde(flatten)]
    item: T,
}

#[derive(Debug, Clone, Serialize)]
struct Cluster {
    cluster: ClusterInfo,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
struct ClusterInfo {
    server: String,
    certificate_authority_data: String,
}

#[derive(Debug, Clone, Serialize)]
struct Context {
    context: ContextInfo,
}

#[derive(Debug, Clone, Serialize)]
struct ContextInfo {
    cluster: String,
    user: String,
}

#[derive(Debug, Clone, Serialize)]
struct User {
    user: UserInfo,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
struct UserInfo {
    client_certificate_data: String,
    client_key_data: String,
}

#[derive(Debug, Clone, Default, Serialize)]
struct Preferences {}

/// The names a kubeconfig gives its cluster, context and user entries.
#[derive(Debug, Clone, Copy)]
pub struct KubeconfigNames<'a> {
    pub cluster: &'a str,
    pub context: &'a str,
    pub user: &'a str,
}

impl Kubeconfig {
    /// A kubeconfig for `server` (e.g. `https://localhost:6443`), trusting `ca_pem`, authenticating
    /// with the client certificate `cert_pem` and its key `key_pem`.
    pub fn with_client_certificate(
        names: KubeconfigNames<'_>,
        server: &str,
        ca_pem: &str,
        cert_pem: &str,
        key_pem: &str,
    ) -> Self {
        Self {
            api_version: "v1",
            kind: "Config",
            clusters: vec![Named {
                name: names.cluster.to_owned(),
                item: Cluster {
                    cluster: ClusterInfo {
                        server: server.to_owned(),
                        certificate_authority_data: STANDARD.encode(ca_pem),
                    },
                },
            }],
            contexts: vec![Named {
                name: names.context.to_owned(),
                item: Context {
                    context: ContextInfo {
                        cluster: names.cluster.to_owned(),
                        user: names.user.to_owned(),
                    },
                },
            }],
            current_context: names.context.to_owned(),
            preferences: Preferences::default(),
            users: vec![Named {
                name: names.user.to_owned(),
                item: User {
                    user: UserInfo {
                        client_certificate_data: STANDARD.encode(cert_pem),
                        client_key_data: STANDARD.encode(key_pem),
                    },
                },
            }],
        }
    }

    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(self).expect("a kubeconfig always serialises")
    }
}
