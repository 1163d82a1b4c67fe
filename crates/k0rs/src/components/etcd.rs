//! The etcd k0rs manages for a controller (`spec.storage.type: etcd` without an
//! `externalCluster`), as a component: its certificates in `init`, then etcd under the
//! supervisor (`k0rs_etcd` has its layout and command line). Healthy means the member answers
//! and the cluster has quorum.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use async_trait::async_trait;
use k0rs_component::Component;
use k0rs_component::supervisor::Supervisor;
use k0rs_etcd::command::{self, Bootstrap};
use k0rs_etcd::{Layout, Members};

pub struct EtcdComponent {
    layout: Layout,
    extra_args: BTreeMap<String, String>,
    /// The initial cluster a join API handed this controller, for a member that has no data yet.
    joined: Option<Vec<String>>,
    running: Option<Supervisor>,
}

impl EtcdComponent {
    pub fn new(
        layout: Layout,
        extra_args: BTreeMap<String, String>,
        joined: Option<Vec<String>>,
    ) -> Self {
        Self {
            layout,
            extra_args,
            joined,
            running: None,
        }
    }

    /// How this member starts: as itself when it has data, else as the joiner it was made, else
    /// as a new cluster — unless it belonged to a cluster of several (its data is lost, and a
    /// new cluster beside the old one would split the controllers).
    async fn bootstrap(&self) -> anyhow::Result<Bootstrap> {
        if self.layout.has_data() {
            return Ok(Bootstrap::Restart);
        }
        if let Some(initial_cluster) = &self.joined {
            return Ok(Bootstrap::Join {
                initial_cluster: initial_cluster.clone(),
            });
        }
        self.refuse_if_lost().await?;
        Ok(Bootstrap::NewCluster)
    }

    async fn refuse_if_lost(&self) -> anyhow::Result<()> {
        let others: Vec<String> = std::fs::read_to_string(self.layout.known_members_file())
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .filter(|url| !url.is_empty() && *url != self.layout.client_url())
            .collect();
        if others.is_empty() {
            return Ok(());
        }
        let data = self.layout.data_dir.display();
        let peer_url = self.layout.peer_url();
        let listed = match Members::connect(&others, &self.layout.client_tls()?).await {
            Ok(members) => members.list().await,
            Err(e) => Err(e),
        };
        match listed {
            Ok(members) if members.iter().any(|m| m.peer_urls.contains(&peer_url)) => {
                anyhow::bail!(
                    "this controller's etcd data ({data}) is gone, but the etcd cluster at {} still lists it as a member ({peer_url}); starting it would make a second cluster. Remove the member on another controller (`k0rs etcd leave --peer-address {}`), then `k0rs reset` here and join again with a controller token",
                    others.join(","),
                    self.layout.peer_address
                )
            }
            Ok(_) => anyhow::bail!(
                "this controller's etcd data ({data}) is gone and it is no longer a member of the etcd cluster at {}; starting it would make a second cluster. `k0rs reset` here and join again with a controller token",
                others.join(",")
            ),
            Err(e) => anyhow::bail!(
                "this controller's etcd data ({data}) is gone and the etcd cluster it belonged to ({}) does not answer ({e:#}); refusing to start a second cluster",
                others.join(",")
            ),
        }
    }

    /// Remembers the cluster's client URLs (see `Layout::known_members_file`).
    fn record_members(&self, members: &[k0rs_etcd::Member]) -> anyhow::Result<()> {
        let mut urls: Vec<&str> = members
            .iter()
            .flat_map(|m| m.client_urls.iter().map(String::as_str))
            .collect();
        urls.sort_unstable();
        let text: String = urls.iter().flat_map(|u| [u, "\n"]).collect();
        let path = self.layout.known_members_file();
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(())
    }
}

/// This controller's etcd member, when k0rs manages the etcd (`spec.storage.type: etcd` without an
/// `externalCluster`): named after the host, reached by its peers on `spec.storage.etcd.peerAddress`.
pub fn managed_layout(
    config: &k0rs_config::ClusterConfig,
    paths: &crate::paths::HostPaths,
) -> anyhow::Result<Option<Layout>> {
    let storage = &config.spec.storage;
    if storage.kind != k0rs_config::StorageType::Etcd || storage.etcd.external_cluster.is_some() {
        return Ok(None);
    }
    let peer_address = storage
        .etcd
        .peer_address
        .or(config.spec.api.address)
        .ok_or_else(|| {
            anyhow::anyhow!("spec.storage.etcd.peerAddress: no address for etcd's peers")
        })?;
    Ok(Some(Layout::new(
        &paths.data_dir,
        &paths.run_dir(),
        peer_address,
        k0rs_pki::host_facts::hostname()?,
    )))
}

/// The etcd binary: `$K0RS_ETCD`, else `etcd` on the PATH (Debian's `etcd-server` package).
fn find_etcd() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("K0RS_ETCD") {
        return Ok(PathBuf::from(path));
    }
    super::containerd::find_binary("etcd").map_err(|_| {
        anyhow::anyhow!("etcd not found on PATH: install Debian's etcd-server package")
    })
}

#[async_trait]
impl Component for EtcdComponent {
    fn name(&self) -> &'static str {
        "etcd"
    }

    async fn init(&mut self) -> anyhow::Result<()> {
        let pki = self.layout.pki_dir.clone();
        let peer = self.layout.peer_address;
        tokio::task::spawn_blocking(move || k0rs_pki::ensure_etcd_certificates(&pki, Some(peer)))
            .await??;
        Ok(())
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let bootstrap = self.bootstrap().await?;
        tracing::info!(component = "etcd", name = %self.layout.name, peer_url = %self.layout.peer_url(), ?bootstrap, "starting");
        let binary = find_etcd()?;
        let release = k0rs_etcd::release::Release::of_binary(&binary)?;
        let spec = command::child_spec(binary, release, &self.layout, &bootstrap, &self.extra_args);
        self.running = Some(Supervisor::start(spec).await?);
        Ok(())
    }

    async fn ready(&self) -> anyhow::Result<()> {
        let members = Members::connect(
            &[self.layout.local_client_url()],
            &self.layout.client_tls()?,
        )
        .await?;
        members.check_health().await?;
        self.record_members(&members.list().await?)
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
        Ok(())
    }
}
