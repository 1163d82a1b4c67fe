//! `k0rs token create|list|invalidate`: join tokens, as k0s makes them. Each join token is a
//! Kubernetes bootstrap token, the Secret `kube-system/bootstrap-token-<id>`, handed out wrapped
//! with the server to join and the cluster CA (see [`crate::join_token`]). The command runs on a
//! controller and talks to the API with the admin kubeconfig.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::Subcommand;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::components::control_loops::go_duration;
use crate::join_token::{JoinToken, Role};
use crate::paths::{ConfigFile, HostPaths};

const NAMESPACE: &str = "kube-system";
const SECRET_TYPE: &str = "bootstrap.kubernetes.io/token";
const SECRET_PREFIX: &str = "bootstrap-token-";
/// `token create --wait` tries once a second for two minutes, as k0s does.
const WAIT_ATTEMPTS: u32 = 120;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a join token
    Create {
        /// Role the token joins as
        #[arg(long, value_enum, default_value_t = Role::Worker)]
        role: Role,
        /// Lifetime of the token, e.g. 12h, 1.5h or 10m (0s: never expires)
        #[arg(long, default_value = "0s", value_parser = parse_expiry)]
        expiry: Duration,
        /// Keep trying until the API server answers
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        config: ConfigFile,
    },
    /// List join tokens
    List {
        /// Only tokens of this role
        #[arg(long, value_enum)]
        role: Option<Role>,
    },
    /// Invalidate join tokens by ID
    Invalidate {
        /// Token IDs (the part before the dot)
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
    },
}

fn parse_expiry(text: &str) -> Result<Duration, String> {
    go_duration(text).ok_or_else(|| format!("{text:?} is not a duration like 12h, 30m or 0s"))
}

pub async fn run(command: &Command, paths: &HostPaths) -> anyhow::Result<()> {
    match command {
        Command::Create {
            role,
            expiry,
            wait,
            config,
        } => {
            let api = config.load_for(paths)?.spec.api;
            let server = match role {
                Role::Worker => api.url(),
                Role::Controller => k0rs_config::ApiSpec {
                    port: api.k0s_api_port,
                    ..api.clone()
                }
                .url(),
            };
            let attempts = if *wait { WAIT_ATTEMPTS } else { 1 };
            let mut attempt = 1;
            let token = loop {
                match create(paths, *role, &server, *expiry).await {
                    Ok(token) => break token,
                    Err(e) if attempt < attempts => {
                        tracing::debug!("cannot create the token yet: {e:#}");
                        attempt += 1;
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    Err(e) => return Err(e),
                }
            };
            println!("{}", token.encode());
        }
        Command::List { role } => {
            let tokens = list(&secrets(paths).await?).await?;
            print!("{}", table(&tokens, *role));
        }
        Command::Invalidate { ids } => {
            for id in ids {
                anyhow::ensure!(
                    is_token_part(id, ID_LEN),
                    "{id:?} is not a token ID: {ID_LEN} characters from [a-z0-9]"
                );
            }
            let secrets = secrets(paths).await?;
            for id in ids {
                invalidate(&secrets, id).await?;
                println!("token {id} deleted successfully");
            }
        }
    }
    Ok(())
}

/// Stores a new bootstrap token and returns the join token that carries it. The CA is read
/// first, so that a node without one leaves no Secret behind.
async fn create(
    paths: &HostPaths,
    role: Role,
    server: &str,
    expiry: Duration,
) -> anyhow::Result<JoinToken> {
    let ca_file = paths.pki_dir().join("ca.crt");
    let ca_pem = std::fs::read_to_string(&ca_file).with_context(|| {
        format!(
            "cannot read the cluster CA {}; is the control plane initialised on this node?",
            ca_file.display()
        )
    })?;
    let secrets = secrets(paths).await?;
    let token = BootstrapToken::random()?;
    let expires = (expiry > Duration::ZERO).then(|| SystemTime::now() + expiry);
    secrets
        .create(&PostParams::default(), &token.secret(role, expires))
        .await
        .with_context(|| format!("cannot store the bootstrap token {}", token.id))?;
    Ok(JoinToken::new(
        role,
        server.to_owned(),
        ca_pem,
        token.to_string(),
    ))
}

/// The Secrets of `kube-system`, through the admin kubeconfig of this controller.
pub(crate) async fn secrets(paths: &HostPaths) -> anyhow::Result<Api<Secret>> {
    let path = paths.pki_dir().join("admin.conf");
    let yaml = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read the admin kubeconfig {}; is this node a running controller?",
            path.display()
        )
    })?;
    let kubeconfig = Kubeconfig::from_yaml(&yaml)
        .with_context(|| format!("cannot parse the admin kubeconfig {}", path.display()))?;
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .with_context(|| format!("cannot use the admin kubeconfig {}", path.display()))?;
    let client = Client::try_from(config).context("cannot build the API client")?;
    Ok(Api::namespaced(client, NAMESPACE))
}

/// Deletes the Secret of token `id`; a token that is already gone is no error (k0s: the
/// token cleaner may have removed an expired one first).
async fn invalidate(secrets: &Api<Secret>, id: &str) -> anyhow::Result<()> {
    match secrets
        .delete(&format!("{SECRET_PREFIX}{id}"), &DeleteParams::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot invalidate the token {id}")),
    }
}

const ID_LEN: usize = 6;
const SECRET_LEN: usize = 16;

/// `<id>.<secret>`: 6 and 16 characters from `[a-z0-9]`.
struct BootstrapToken {
    id: String,
    secret: String,
}

impl fmt::Display for BootstrapToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.id, self.secret)
    }
}

impl BootstrapToken {
    fn random() -> anyhow::Result<Self> {
        Ok(Self {
            id: random_base36(ID_LEN)?,
            secret: random_base36(SECRET_LEN)?,
        })
    }

    /// The Secret k0s stores for a token of `role`: workers' tokens authenticate to the API;
    /// controllers' tokens only join through the k0s API, marked in both the usage form and
    /// k0s's legacy form.
    fn secret(&self, role: Role, expires: Option<SystemTime>) -> Secret {
        let mut data = BTreeMap::from([
            ("token-id", self.id.clone()),
            ("token-secret", self.secret.clone()),
        ]);
        match role {
            Role::Worker => {
                data.insert(
                    "description",
                    "Worker bootstrap token generated by k0rs".into(),
                );
                data.insert("usage-bootstrap-authentication", "true".into());
            }
            Role::Controller => {
                data.insert(
                    "description",
                    "Controller bootstrap token generated by k0rs".into(),
                );
                data.insert("usage-bootstrap-controller-join", "true".into());
                data.insert("usage-controller-join", "true".into());
            }
        }
        if let Some(expires) = expires {
            let secs = expires
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let secs = i64::try_from(secs).unwrap_or(i64::MAX);
            data.insert("expiration", k0rs_api::time::format_unix(secs));
        }
        Secret {
            metadata: ObjectMeta {
                name: Some(format!("{SECRET_PREFIX}{}", self.id)),
                namespace: Some(NAMESPACE.into()),
                ..ObjectMeta::default()
            },
            type_: Some(SECRET_TYPE.into()),
            data: Some(
                data.into_iter()
                    .map(|(k, v)| (k.to_owned(), ByteString(v.into_bytes())))
                    .collect(),
            ),
            ..Secret::default()
        }
    }
}

/// `len` random characters from `[a-z0-9]`, without modulo bias.
fn random_base36(len: usize) -> anyhow::Result<String> {
    const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(len);
    let mut bytes = [0u8; 32];
    while out.len() < len {
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no random bytes: {e}"))?;
        // 252 = 7 × 36: bytes above it would favour the first characters.
        for byte in bytes.iter().filter(|&&b| b < 252).take(len - out.len()) {
            out.push(char::from(ALPHABET[usize::from(byte % 36)]));
        }
    }
    Ok(out)
}

fn is_token_part(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A row of `token list`.
#[derive(Debug, PartialEq, Eq)]
struct Listed {
    id: String,
    /// `worker`, `controller`, or empty for a token that serves neither.
    role: &'static str,
    /// RFC 3339, or empty for a token that never expires.
    expires: String,
}

async fn list(secrets: &Api<Secret>) -> anyhow::Result<Vec<Listed>> {
    let found = secrets
        .list(&ListParams::default().fields(&format!("type={SECRET_TYPE}")))
        .await
        .context("cannot list the bootstrap tokens")?;
    Ok(found.items.iter().filter_map(listed).collect())
}

/// The row of a bootstrap-token Secret; `None` for one that is not a valid token (k0s skips
/// those too).
fn listed(secret: &Secret) -> Option<Listed> {
    let field = |key: &str| -> Option<String> {
        let bytes = secret
            .data
            .as_ref()
            .and_then(|data| data.get(key))
            .map(|b| b.0.clone())
            .or_else(|| {
                let text = secret.string_data.as_ref()?.get(key)?;
                Some(text.clone().into_bytes())
            })?;
        String::from_utf8(bytes).ok()
    };
    let is_true = |key: &str| field(key).as_deref() == Some("true");
    let id = field("token-id")?;
    let secret_part = field("token-secret")?;
    if !is_token_part(&id, ID_LEN)
        || !is_token_part(&secret_part, SECRET_LEN)
        || secret.metadata.name.as_deref() != Some(&format!("{SECRET_PREFIX}{id}"))
    {
        return None;
    }
    let expires = match field("expiration") {
        Some(text) => k0rs_api::time::format_unix(k0rs_api::time::parse_unix(&text)?),
        None => String::new(),
    };
    let role = if is_true("usage-bootstrap-controller-join") || is_true("usage-controller-join") {
        Role::Controller.as_str()
    } else if is_true("usage-bootstrap-authentication") {
        Role::Worker.as_str()
    } else {
        ""
    };
    Some(Listed { id, role, expires })
}

/// The `token list` table, as k0s prints it: left-aligned columns three spaces apart, nothing
/// at all when no token matches.
fn table(tokens: &[Listed], role: Option<Role>) -> String {
    let rows: Vec<[&str; 3]> = tokens
        .iter()
        .filter(|t| role.is_none_or(|r| r.as_str() == t.role))
        .map(|t| [t.id.as_str(), t.role, t.expires.as_str()])
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let header = ["ID", "ROLE", "EXPIRES AT"];
    let width = |column: usize| {
        std::iter::once(&header)
            .chain(&rows)
            .map(|row| row[column].len())
            .max()
            .unwrap_or(0)
    };
    let (id_width, role_width) = (width(0) + 3, width(1) + 3);
    let mut out = String::new();
    for [id, role, expires] in std::iter::once(&header).chain(&rows) {
        let line = format!("{id:id_width$}{role:role_width$}{expires}");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, role: &'static str, expires: &str) -> Listed {
        Listed {
            id: id.into(),
            role,
            expires: expires.into(),
        }
    }

    #[test]
    fn tables_look_like_k0s() {
        let tokens = [
            row("token1", "controller", "2025-05-12T12:00:00Z"),
            row("token2", "worker", "2025-05-13T12:00:00Z"),
            row("token3", "worker", ""),
        ];
        assert_eq!(
            table(&tokens, Some(Role::Controller)),
            "ID       ROLE         EXPIRES AT\ntoken1   controller   2025-05-12T12:00:00Z\n"
        );
        assert_eq!(
            table(&tokens, Some(Role::Worker)),
            "ID       ROLE     EXPIRES AT\ntoken2   worker   2025-05-13T12:00:00Z\ntoken3   worker\n"
        );
        assert_eq!(table(&[], None), "");
    }

    #[test]
    fn secrets_carry_k0s_usages_and_list_back() {
        let token = BootstrapToken {
            id: "abcdef".into(),
            secret: "0123456789abcdef".into(),
        };
        let year_2100 = k0rs_api::time::parse_unix("2100-01-01T00:00:00Z").unwrap();
        let expires = UNIX_EPOCH + Duration::from_secs(year_2100.unsigned_abs());
        let worker = token.secret(Role::Worker, Some(expires));
        assert_eq!(worker.type_.as_deref(), Some(SECRET_TYPE));
        assert_eq!(
            listed(&worker),
            Some(row("abcdef", "worker", "2100-01-01T00:00:00Z"))
        );
        let controller = token.secret(Role::Controller, None);
        let data = controller.data.as_ref().unwrap();
        assert!(!data.contains_key("usage-bootstrap-authentication"));
        assert!(!data.contains_key("expiration"));
        assert_eq!(listed(&controller), Some(row("abcdef", "controller", "")));
    }

    #[test]
    fn random_tokens_have_the_bootstrap_shape() {
        let token = BootstrapToken::random().unwrap().to_string();
        let (id, secret) = token.split_once('.').unwrap();
        assert!(is_token_part(id, ID_LEN), "{token}");
        assert!(is_token_part(secret, SECRET_LEN), "{token}");
        assert_ne!(token, BootstrapToken::random().unwrap().to_string());
    }

    #[test]
    fn expiries_are_go_durations() {
        assert_eq!(parse_expiry("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_expiry("1.5h"), Ok(Duration::from_mins(90)));
        assert!(parse_expiry("tomorrow").is_err());
    }
}
