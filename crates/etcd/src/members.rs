//! The etcd cluster's membership, through a member's client URL with a client certificate.

use std::time::Duration;

use anyhow::Context as _;
use etcd_client::{Certificate, Client, ConnectOptions, Identity, TlsOptions};
use k0rs_store::etcd::EtcdTls;

use crate::request::{Outcome, REQUEST_TIMEOUT, outcome, reconfigure, timed};

/// How long the other members are asked whether a removal whose answer was lost happened:
/// they apply a committed change within a heartbeat or two.
const CONFIRM: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: u64,
    /// Empty until the member has started.
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
}

impl Member {
    /// Whether it has run: etcd records a member's name when the member first starts.
    pub fn has_started(&self) -> bool {
        !self.name.is_empty()
    }
}

/// Why a controller cannot be added as a member.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error("etcd on this controller is not healthy, so no member is added: {0}")]
    Unhealthy(String),
    #[error(
        "the etcd cluster already has member {name} at {peer_url}, and it has run: a controller whose etcd data is lost cannot join as it; remove the member first (`k0rs etcd leave --peer-address <its address>` on any controller), then join again"
    )]
    AlreadyStarted { name: String, peer_url: String },
    #[error(
        "the etcd cluster already has a member named {name}, at {peer_url}; give each controller its own host name"
    )]
    NameTaken { name: String, peer_url: String },
    #[error("{0:#}")]
    Etcd(anyhow::Error),
}

/// What adding a controller comes down to.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    Add,
    /// A member added for this controller whose join failed before its etcd started: taken
    /// again, so that a retried join never leaves two members for one controller.
    Reuse(u64),
}

fn plan(members: &[Member], name: &str, peer_url: &str) -> Result<Plan, AddError> {
    if let Some(same) = members
        .iter()
        .find(|m| m.peer_urls.iter().any(|u| u == peer_url))
    {
        if same.has_started() {
            return Err(AddError::AlreadyStarted {
                name: same.name.clone(),
                peer_url: peer_url.to_owned(),
            });
        }
        return Ok(Plan::Reuse(same.id));
    }
    if let Some(named) = members.iter().find(|m| m.name == name) {
        return Err(AddError::NameTaken {
            name: name.to_owned(),
            peer_url: named.peer_urls.first().cloned().unwrap_or_default(),
        });
    }
    Ok(Plan::Add)
}

/// `<name>=<peer URL>` of each member, the new one (`id`) under `name`. A member that has not
/// started has no name yet and cannot be listed (another controller's join under way).
fn initial_cluster(members: &[Member], id: u64, name: &str) -> Vec<String> {
    members
        .iter()
        .filter_map(|m| {
            let member_name = if m.id == id { name } else { m.name.as_str() };
            let url = m.peer_urls.first()?;
            (!member_name.is_empty()).then(|| format!("{member_name}={url}"))
        })
        .collect()
}

/// A client of the cluster, for membership.
pub struct Members {
    client: Client,
    /// How it connected, to reach other members the same way.
    options: ConnectOptions,
}

impl Members {
    pub async fn connect(endpoints: &[String], tls: &EtcdTls) -> anyhow::Result<Self> {
        let options = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout(REQUEST_TIMEOUT)
            .with_tls(
                TlsOptions::new()
                    .ca_certificate(Certificate::from_pem(&tls.ca))
                    .identity(Identity::from_pem(&tls.cert, &tls.key)),
            );
        let client = Client::connect(endpoints, Some(options.clone()))
            .await
            .with_context(|| format!("cannot connect to etcd at {}", endpoints.join(",")))?;
        Ok(Self { client, options })
    }

    pub async fn list(&self) -> anyhow::Result<Vec<Member>> {
        list_through(&self.client).await
    }

    /// Whether the member answers and the cluster has quorum (a linearizable read succeeds).
    pub async fn check_health(&self) -> anyhow::Result<()> {
        let mut client = self.client.clone();
        timed("ask etcd for its status", client.status()).await?;
        timed("read from etcd", client.get("health", None)).await?;
        Ok(())
    }

    /// The id of the cluster's leader, as the member this client reaches knows it.
    pub async fn leader(&self) -> anyhow::Result<u64> {
        let mut client = self.client.clone();
        let status = timed("ask etcd for its status", client.status()).await?;
        anyhow::ensure!(status.leader() != 0, "the etcd cluster has no leader");
        Ok(status.leader())
    }

    /// Adds the controller `name` with `peer_url` (or takes the member a failed join of it left)
    /// and returns the initial cluster it starts with. Nothing is added unless the cluster is
    /// healthy.
    pub async fn add(&self, name: &str, peer_url: &str) -> Result<Vec<String>, AddError> {
        self.check_health()
            .await
            .map_err(|e| AddError::Unhealthy(format!("{e:#}")))?;
        let members = self.list().await.map_err(AddError::Etcd)?;
        let id = match plan(&members, name, peer_url)? {
            Plan::Reuse(id) => {
                tracing::info!(
                    component = "etcd",
                    name,
                    peer_url,
                    id,
                    "reusing the member a failed join left"
                );
                id
            }
            Plan::Add => {
                let added = self.member_add(peer_url).await?;
                let id = added
                    .member()
                    .map(etcd_client::Member::id)
                    .context("etcd added a member without saying which")
                    .map_err(AddError::Etcd)?;
                tracing::info!(component = "etcd", name, peer_url, id, "added member");
                id
            }
        };
        let members = self.list().await.map_err(AddError::Etcd)?;
        Ok(initial_cluster(&members, id, name))
    }

    /// Adds `peer_url` as a member; a cluster that stays unhealthy or lacks started members
    /// refuses the join as unhealthy.
    async fn member_add(&self, peer_url: &str) -> Result<etcd_client::MemberAddResponse, AddError> {
        let added = reconfigure("add the etcd member", || {
            let mut client = self.client.clone();
            async move { client.member_add([peer_url], None).await }
        })
        .await;
        added.map_err(|e| {
            let text = format!("{e:#}");
            if text.contains("unhealthy cluster") || text.contains("not enough started members") {
                AddError::Unhealthy(text)
            } else {
                AddError::Etcd(e)
            }
        })
    }

    /// Removes the member with `peer_url`; the member removed, or `None` if there was none. A
    /// removal etcd does not confirm (the member answering stopped, the answer timed out) counts
    /// once the other members no longer list it.
    pub async fn remove(&self, peer_url: &str) -> anyhow::Result<Option<Member>> {
        let (member, others): (Vec<Member>, Vec<Member>) = self
            .list()
            .await?
            .into_iter()
            .partition(|m| m.peer_urls.iter().any(|u| u == peer_url));
        let Some(member) = member.into_iter().next() else {
            return Ok(None);
        };
        // Asked when the removal's answer is lost, which is how a leave through the leaving
        // member itself ends: it stops once it has applied its removal.
        let others: Vec<String> = others.into_iter().flat_map(|m| m.client_urls).collect();
        let id = member.id;
        let removed = reconfigure("remove the etcd member", || {
            let mut client = self.client.clone();
            async move { client.member_remove(id).await }
        })
        .await;
        match removed {
            Ok(_) => Ok(Some(member)),
            Err(e) if outcome(&e) == Outcome::Unknown => {
                tracing::info!(component = "etcd", peer_url, error = %format!("{e:#}"),
                    "no answer to the removal; asking the other members whether it happened");
                // Boxed: it holds a connection attempt of its own, as large as the removal's.
                if Box::pin(self.gone(&others, id)).await {
                    Ok(Some(member))
                } else {
                    Err(e.context(format!(
                        "the removal of {peer_url} went unanswered, and the other members still list it after {}s",
                        CONFIRM.as_secs()
                    )))
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Whether the members at `endpoints` come to list no member `id` within `CONFIRM`.
    async fn gone(&self, endpoints: &[String], id: u64) -> bool {
        if endpoints.is_empty() {
            return false;
        }
        let deadline = tokio::time::Instant::now() + CONFIRM;
        let connected = Client::connect(endpoints, Some(self.options.clone())).await;
        let Ok(client) = connected else {
            tracing::info!(
                component = "etcd",
                endpoints = endpoints.join(","),
                "cannot reach the other members"
            );
            return false;
        };
        loop {
            match list_through(&client).await {
                Ok(members) if members.iter().all(|m| m.id != id) => return true,
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(component = "etcd", error = %format!("{e:#}"), "cannot list the members");
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

async fn list_through(client: &Client) -> anyhow::Result<Vec<Member>> {
    let mut client = client.clone();
    let response = timed("list the etcd members", client.member_list()).await?;
    Ok(response
        .members()
        .iter()
        .map(|m| Member {
            id: m.id(),
            name: m.name().to_owned(),
            peer_urls: m.peer_urls().to_vec(),
            client_urls: m.client_urls().to_vec(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: u64, name: &str, url: &str) -> Member {
        Member {
            id,
            name: name.into(),
            peer_urls: vec![url.into()],
            client_urls: Vec::new(),
        }
    }

    #[test]
    fn a_new_controller_is_added() {
        let members = [member(1, "c0", "https://10.0.0.2:2380")];
        assert_eq!(
            plan(&members, "c1", "https://10.0.0.3:2380").unwrap(),
            Plan::Add
        );
    }

    #[test]
    fn a_retried_join_takes_the_member_its_failed_join_left() {
        let members = [
            member(1, "c0", "https://10.0.0.2:2380"),
            member(7, "", "https://10.0.0.3:2380"),
        ];
        assert_eq!(
            plan(&members, "c1", "https://10.0.0.3:2380").unwrap(),
            Plan::Reuse(7)
        );
        assert_eq!(
            initial_cluster(&members, 7, "c1"),
            ["c0=https://10.0.0.2:2380", "c1=https://10.0.0.3:2380"]
        );
    }

    #[test]
    fn a_member_that_has_run_or_a_taken_name_is_refused() {
        let members = [
            member(1, "c0", "https://10.0.0.2:2380"),
            member(2, "c1", "https://10.0.0.3:2380"),
        ];
        assert!(matches!(
            plan(&members, "c1", "https://10.0.0.3:2380"),
            Err(AddError::AlreadyStarted { .. })
        ));
        assert!(matches!(
            plan(&members, "c1", "https://10.0.0.4:2380"),
            Err(AddError::NameTaken { .. })
        ));
    }
}
