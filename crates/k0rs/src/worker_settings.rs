//! What the controllers publish for workers (`k0rs_api::worker_config`) and how a worker reads
//! it: the network settings its components use, the worker tunnel's port when the
//! controllers run the tunnel, and what autopilot on the worker checks updates with.

use std::collections::BTreeMap;

use anyhow::Context as _;
use k0rs_api::worker_config::{AUTOPILOT_KEY, KONNECTIVITY_KEY, NAME, NAMESPACE, NETWORK_KEY};
use k0rs_config::{AutopilotSpec, Konnectivity, NetworkSpec};

/// The cluster's settings as a worker reads them; `None` for what the controllers publish not
/// (an older k0rs, or a setting switched off).
#[derive(Debug, Default)]
pub struct Published {
    pub network: Option<NetworkSpec>,
    /// The tunnel: published only when the controllers serve it.
    pub konnectivity: Option<Konnectivity>,
    /// `spec.autopilot`: published only when set.
    pub autopilot: Option<AutopilotSpec>,
}

/// The ConfigMap's data for `network`, `konnectivity` when the controllers serve the tunnel, and
/// `autopilot` when it is set.
pub fn publish(
    network: &NetworkSpec,
    konnectivity: Option<&Konnectivity>,
    autopilot: &AutopilotSpec,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut data = BTreeMap::from([(
        NETWORK_KEY.to_owned(),
        serde_json::to_string(network).context("cannot encode spec.network")?,
    )]);
    if let Some(konnectivity) = konnectivity {
        data.insert(
            KONNECTIVITY_KEY.to_owned(),
            serde_json::to_string(konnectivity).context("cannot encode spec.konnectivity")?,
        );
    }
    if !autopilot.is_empty() {
        data.insert(
            AUTOPILOT_KEY.to_owned(),
            serde_json::to_string(autopilot).context("cannot encode spec.autopilot")?,
        );
    }
    Ok(data)
}

/// The settings the cluster publishes for workers, read with `client`.
pub async fn fetch(client: kube::Client) -> anyhow::Result<Published> {
    let api = kube::Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(client, NAMESPACE);
    let map = api
        .get_opt(NAME)
        .await
        .with_context(|| format!("cannot read {NAMESPACE}/{NAME}"))?;
    let data = map.and_then(|m| m.data).unwrap_or_default();
    decode(&data)
}

fn decode(data: &BTreeMap<String, String>) -> anyhow::Result<Published> {
    let network = data
        .get(NETWORK_KEY)
        .map(|text| serde_json::from_str(text))
        .transpose()
        .with_context(|| format!("{NAMESPACE}/{NAME}: {NETWORK_KEY} is not a network spec"))?;
    let konnectivity = data
        .get(KONNECTIVITY_KEY)
        .map(|text| serde_json::from_str(text))
        .transpose()
        .with_context(|| {
            format!("{NAMESPACE}/{NAME}: {KONNECTIVITY_KEY} is not a konnectivity spec")
        })?;
    let autopilot = data
        .get(AUTOPILOT_KEY)
        .map(|text| serde_json::from_str(text))
        .transpose()
        .with_context(|| format!("{NAMESPACE}/{NAME}: {AUTOPILOT_KEY} is not an autopilot spec"))?;
    Ok(Published {
        network,
        konnectivity,
        autopilot,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tunnel_port_travels_only_when_published() {
        let network = NetworkSpec::default();
        let konnectivity = Konnectivity {
            agent_port: 9132,
            ..Konnectivity::default()
        };
        let none = AutopilotSpec::default();
        let read = decode(&publish(&network, Some(&konnectivity), &none).unwrap()).unwrap();
        assert_eq!(read.network, Some(network.clone()));
        assert_eq!(read.konnectivity, Some(konnectivity));
        assert_eq!(read.autopilot, None);
        let autopilot = AutopilotSpec {
            health_timeout: Some("90s".into()),
            ..AutopilotSpec::default()
        };
        let read = decode(&publish(&network, None, &autopilot).unwrap()).unwrap();
        assert_eq!(read.konnectivity, None);
        assert_eq!(read.autopilot, Some(autopilot));
        let nothing = decode(&BTreeMap::new()).unwrap();
        assert!(nothing.network.is_none() && nothing.konnectivity.is_none());
    }
}
