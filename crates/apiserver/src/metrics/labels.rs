//! Label values of the metrics that name resources, without an allocation per request: every
//! resource served is a `&'static Resource` (built-in or a custom resource's declaration), so
//! labels hold references to it.

use std::hash::{Hash, Hasher};

use k0rs_registry::Resource;
use prometheus_client::encoding::{EncodeLabelValue, LabelValueEncoder};

/// A stored resource as a label value: `configmaps`, `deployments.apps` (the `resource` label
/// of `apiserver_storage_objects`, the `type` of `etcd_request_duration_seconds`), or `other`
/// for keys that belong to no resource. Compared by group and plural: the versions of one
/// resource share its objects and are one series.
#[derive(Debug, Clone, Copy)]
pub struct ResourceLabel(pub Option<&'static Resource>);

impl ResourceLabel {
    fn identity(self) -> Option<(&'static str, &'static str)> {
        self.0.map(|r| (r.group, r.plural))
    }
}

impl PartialEq for ResourceLabel {
    fn eq(&self, other: &Self) -> bool {
        self.identity() == other.identity()
    }
}

impl Eq for ResourceLabel {}

impl Hash for ResourceLabel {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.identity().hash(state);
    }
}

impl EncodeLabelValue for ResourceLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        use std::fmt::Write as _;
        match self.0 {
            Some(r) if r.group.is_empty() => encoder.write_str(r.plural),
            Some(r) => write!(encoder, "{}.{}", r.plural, r.group),
            None => encoder.write_str("other"),
        }
    }
}

/// The resource whose objects a store key holds: `/registry/<plural>/…` for the core group,
/// `/registry/<group>/<plural>/…` for the others.
pub fn resource_of_key(key: &[u8]) -> Option<&'static Resource> {
    let rest = key.strip_prefix(b"/registry/")?;
    let mut parts = rest.split(|b| *b == b'/');
    let first = parts.next()?;
    let second = parts.next().unwrap_or_default();
    let matches = |r: &&'static Resource| {
        if r.group.is_empty() {
            r.plural.as_bytes() == first
        } else {
            r.group.as_bytes() == first && r.plural.as_bytes() == second
        }
    };
    // Built-in resources first: no lock, no allocation. Custom resources only on a miss whose
    // group could be one (a custom resource's group has a dot): the store's own keys
    // (`/registry/ranges/…`) cost no lookup in the CRD table.
    k0rs_registry::RESOURCES.iter().find(matches).or_else(|| {
        first
            .contains(&b'.')
            .then(|| k0rs_registry::all_resources().into_iter().find(matches))
            .flatten()
    })
}

/// The prefix of the keys of a resource's objects (the registry's key layout, which
/// [`resource_of_key`] reads back).
pub fn key_prefix(resource: &Resource) -> String {
    if resource.group.is_empty() {
        format!("/registry/{}/", resource.plural)
    } else {
        format!("/registry/{}/{}/", resource.group, resource.plural)
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::EncodeLabelSet;

    use super::*;

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct Labels {
        resource: ResourceLabel,
    }

    fn encoded(key: &str) -> String {
        let family = prometheus_client::metrics::family::Family::<
            Labels,
            prometheus_client::metrics::counter::Counter,
        >::default();
        family
            .get_or_create(&Labels {
                resource: ResourceLabel(resource_of_key(key.as_bytes())),
            })
            .inc();
        let mut registry = k0rs_metrics::Registry::default();
        registry.register("x", "x", family);
        k0rs_metrics::exposition::encode(&[&registry])
    }

    #[test]
    fn keys_name_their_resource_as_kubernetes_labels_it() {
        assert!(
            encoded("/registry/configmaps/default/a")
                .contains("x_total{resource=\"configmaps\"} 1")
        );
        assert!(
            encoded("/registry/apps/deployments/default/d")
                .contains("x_total{resource=\"deployments.apps\"} 1")
        );
        assert!(encoded("/registry/ranges/serviceips/").contains("x_total{resource=\"other\"} 1"));
        assert!(resource_of_key(b"/elsewhere/pods").is_none());
    }
}
