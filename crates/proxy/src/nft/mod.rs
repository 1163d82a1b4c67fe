//! The proxy's nftables mode (`spec.network.kubeProxy.mode: nftables`): see `render` for the
//! layout and `update` for how syncs reach the kernel.

pub mod render;
pub mod update;

use std::path::Path;

pub use render::{Ruleset, render};
pub use update::{delete_table, script};

use crate::model::ServicePort;
use crate::rules::Settings;

/// Writes the rules for `ports`: everything when `last` is `None`, else what changed since it.
/// Returns what the kernel holds now.
pub fn sync(
    nft: &Path,
    ports: &[ServicePort],
    settings: &Settings,
    last: Option<&Ruleset>,
) -> anyhow::Result<Ruleset> {
    let now = render(ports, settings);
    update::run(nft, &script(&now, last, settings))?;
    Ok(now)
}
