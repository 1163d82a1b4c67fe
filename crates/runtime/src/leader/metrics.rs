//! `leader_election_master_status`: 1 while this process holds an election's Lease, else 0, by
//! the Lease's name (component-base's leader election metric).

use std::sync::LazyLock;

use k0rs_metrics::Registry;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NameLabel {
    name: String,
}

static STATUS: LazyLock<Family<NameLabel, Gauge>> = LazyLock::new(Family::default);

/// Adds the leader election status of every election in this process to `registry`.
pub fn register(registry: &mut Registry) {
    registry.register(
        "leader_election_master_status",
        "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.",
        STATUS.clone(),
    );
}

/// The status gauge of the election on Lease `name`.
pub fn status(name: &str) -> Gauge {
    STATUS.get_or_create_owned(&NameLabel {
        name: name.to_owned(),
    })
}
