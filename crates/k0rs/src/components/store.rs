//! The controller's store: the embedded store under `<data-dir>/db` (k0s's `kine`), an external
//! etcd cluster (`spec.storage.etcd.externalCluster`), or the etcd k0rs manages on this controller
//! (see `components::etcd`), reached on loopback with the API server's etcd client certificate.
//! The embedded store also serves snapshots to `k0rs backup` (see `store_snapshot`), and
//! compacts its history as often as kube-apiserver's `--etcd-compaction-interval` asks
//! (`spec.api.extraArgs`, default 5m, `0`: never).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use k0rs_component::Component;
use k0rs_config::{ApiSpec, ExternalCluster, StorageSpec, StorageType};
use k0rs_store::etcd::EtcdTls;
use k0rs_store::{Embedded, EmbeddedOptions, EtcdOptions, EtcdStore, Prefixed, Store as _};

/// The opened store, handed from the store component to the components that use it (the API
/// server). Empty until the store has started, and again after it stopped.
pub type SharedStore = Arc<std::sync::Mutex<Option<Arc<dyn k0rs_store::Store>>>>;

enum Backend {
    Embedded(Arc<Embedded>),
    Etcd(Box<EtcdStore>),
}

pub struct Store {
    spec: StorageSpec,
    dir: PathBuf,
    run_dir: PathBuf,
    backend: Option<Backend>,
    snapshots: Option<super::store_snapshot::Server>,
    shared: SharedStore,
    /// The managed etcd's member on this controller, for `type: etcd` without an external cluster.
    managed_etcd: Option<k0rs_etcd::Layout>,
    /// How often the embedded store compacts (`None`: never).
    compaction_interval: Option<Duration>,
}

impl Store {
    pub fn new(
        spec: &StorageSpec,
        api: &ApiSpec,
        paths: &crate::paths::HostPaths,
        shared: SharedStore,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            spec: spec.clone(),
            dir: paths.data_dir.join("db"),
            run_dir: paths.run_dir(),
            backend: None,
            snapshots: None,
            shared,
            managed_etcd: None,
            compaction_interval: compaction_interval(api)?,
        })
    }

    /// The store of a controller whose etcd k0rs manages: that member.
    pub fn with_managed_etcd(mut self, layout: k0rs_etcd::Layout) -> Self {
        self.managed_etcd = Some(layout);
        self
    }

    /// How to reach the etcd this store uses, if it uses one.
    fn etcd(&self) -> anyhow::Result<Option<EtcdOptions>> {
        if self.spec.kind != StorageType::Etcd {
            return Ok(None);
        }
        match (&self.spec.etcd.external_cluster, &self.managed_etcd) {
            (Some(external), _) => etcd_options(external).map(Some),
            (None, Some(layout)) => Ok(Some(EtcdOptions {
                endpoints: vec![layout.local_client_url()],
                tls: Some(layout.client_tls()?),
            })),
            (None, None) => anyhow::bail!("spec.storage.type etcd: no etcd to connect to"),
        }
    }
}

#[async_trait]
impl Component for Store {
    fn name(&self) -> &'static str {
        "store"
    }

    async fn init(&mut self) -> anyhow::Result<()> {
        Ok(())
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let backend = match self.etcd()? {
            Some(options) => Backend::Etcd(Box::new(EtcdStore::connect(&options).await?)),
            None => Backend::Embedded(Arc::new(
                Embedded::open(EmbeddedOptions {
                    auto_compaction: self.compaction_interval,
                    ..EmbeddedOptions::new(&self.dir)
                })
                .await?,
            )),
        };
        let store: Arc<dyn k0rs_store::Store> = match (&backend, &self.spec.etcd.external_cluster) {
            (Backend::Embedded(store), _) => store.clone(),
            // The cluster's keys live under `etcdPrefix`, so several clusters can share an etcd.
            (Backend::Etcd(store), Some(external)) => Arc::new(Prefixed::new(
                Arc::new(store.as_ref().clone()),
                &external.etcd_prefix,
            )),
            (Backend::Etcd(store), None) => Arc::new(store.as_ref().clone()),
        };
        if let Backend::Embedded(embedded) = &backend {
            self.snapshots = Some(super::store_snapshot::Server::start(
                embedded.clone(),
                &self.run_dir,
            )?);
        }
        *self.shared.lock().expect("store handle poisoned") = Some(store);
        self.backend = Some(backend);
        Ok(())
    }

    async fn ready(&self) -> anyhow::Result<()> {
        match &self.backend {
            Some(Backend::Embedded(store)) => store.current_revision().await?,
            Some(Backend::Etcd(store)) => store.current_revision().await?,
            None => anyhow::bail!("not started"),
        };
        Ok(())
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        self.shared.lock().expect("store handle poisoned").take();
        if let Some(snapshots) = self.snapshots.take() {
            snapshots.stop().await;
        }
        if let Some(Backend::Embedded(store)) = self.backend.take() {
            if let Ok(store) = Arc::try_unwrap(store) {
                store.close().await;
            } else {
                tracing::warn!(component = "store", "store still in use at shutdown");
            }
        }
        Ok(())
    }
}

/// kube-apiserver's `--etcd-compaction-interval` from `spec.api.extraArgs`: 5m unless set, `0`
/// (or `0s`) for never.
fn compaction_interval(api: &ApiSpec) -> anyhow::Result<Option<Duration>> {
    let Some(text) = api.extra_args.get("etcd-compaction-interval") else {
        return Ok(Some(Duration::from_mins(5)));
    };
    if text == "0" {
        return Ok(None);
    }
    let interval = super::control_loops::go_duration(text).with_context(|| {
        format!("spec.api.extraArgs.etcd-compaction-interval: {text:?} is not a duration like 5m")
    })?;
    Ok((!interval.is_zero()).then_some(interval))
}

pub fn etcd_options(external: &ExternalCluster) -> anyhow::Result<EtcdOptions> {
    let read = |path: &String| {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))
    };
    let tls = match (
        &external.ca_file,
        &external.client_cert_file,
        &external.client_key_file,
    ) {
        (Some(ca), Some(cert), Some(key)) => Some(EtcdTls {
            ca: read(ca)?,
            cert: read(cert)?,
            key: read(key)?,
        }),
        _ => None,
    };
    Ok(EtcdOptions {
        endpoints: external.endpoints.clone(),
        tls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compaction_interval_is_kube_apiservers_flag() {
        let api = |value: Option<&str>| {
            let mut api = ApiSpec::default();
            if let Some(value) = value {
                api.extra_args
                    .insert("etcd-compaction-interval".into(), value.into());
            }
            api
        };
        let interval = |value| compaction_interval(&api(value)).unwrap();
        assert_eq!(interval(None), Some(Duration::from_mins(5)));
        assert_eq!(interval(Some("2s")), Some(Duration::from_secs(2)));
        assert_eq!(interval(Some("0")), None);
        assert_eq!(interval(Some("0s")), None);
        assert!(compaction_interval(&api(Some("soon"))).is_err());
    }
}
