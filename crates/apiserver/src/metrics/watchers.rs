//! `apiserver_registered_watchers`: the watches open now, per kind (Kubernetes counts the
//! watch cache's watchers the same way).

use std::sync::LazyLock;

use k0rs_metrics::Registry;
use k0rs_registry::Resource;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
}

static WATCHERS: LazyLock<Family<KindLabels, Gauge>> = LazyLock::new(Family::default);

pub fn register(registry: &mut Registry) {
    registry.register(
        "apiserver_registered_watchers",
        "Number of currently registered watchers for a given resources",
        WATCHERS.clone(),
    );
}

/// One open watch, counted until dropped.
#[derive(Debug)]
pub struct Registered(Gauge);

impl Registered {
    pub fn new(resource: &'static Resource) -> Self {
        let gauge = WATCHERS.get_or_create_owned(&KindLabels {
            group: resource.group,
            version: resource.version,
            kind: resource.kind,
        });
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.0.dec();
    }
}
