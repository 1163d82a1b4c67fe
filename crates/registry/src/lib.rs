//! The resources of the Kubernetes 1.28 API that k0rs knows, declared once.
//!
//! [`RESOURCES`] is the single source of truth for group, version, kind, names, scope, verbs and
//! subresources: discovery is generated from it, and the generic registry will serve every entry
//! through one code path (a new built-in kind is one entry here, plus a strategy in `kinds` where
//! it has rules). The resources the code names are constants in [`resources`].

mod bootstrap;
mod bootstrap_policy;
mod cache;
mod columns;
mod conversion;
mod crds;
mod custom_rules;
mod custom_schema;
mod decoded;
mod decoding;
mod defaults;
mod deletion;
mod encoding;
mod eviction;
mod filter;
mod generic;
mod kinds;
mod list;
mod meta;
mod paging;
mod patching;
mod printers;
mod qos;
mod raw;
mod read_at;
pub mod resources;
mod services;
mod strategy;
mod subresource;
mod table;
mod type_meta;
mod validation;
mod watch;

pub use bootstrap::ApiEndpoint;
pub use columns::{IncludeObject, table};
pub use conversion::storage_of;
pub use crds::unknown_fields as unknown_custom_fields;
pub use decoding::{body_decodes, patched_decodes};
pub use deletion::{DeleteOptions, Propagation};
pub use filter::Filter;
pub use generic::Registry;
pub use patching::Admit;
pub use read_at::ReadAt;
pub use services::ServiceNetwork;
pub use subresource::Subresource as ServedSubresource;
pub use table::{RESOURCES, Resource, Subresource};
pub use watch::{Next as WatchNext, ResourceWatch, Shape as WatchShape};

/// `v1` for the core group, `<group>/<version>` otherwise (an object's `apiVersion`).
pub fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}

/// Every resource served: the built-in table, then the custom resources of established CRDs.
pub fn all_resources() -> Vec<&'static Resource> {
    let mut all: Vec<&'static Resource> = RESOURCES.iter().collect();
    all.extend(crds::registered());
    all
}

/// The custom resources of one group version with their `openAPIV3Schema`s (empty for a
/// built-in group version).
pub fn custom_schemas_of(
    group: &str,
    version: &str,
) -> Vec<(&'static Resource, Option<serde_json::Value>)> {
    crds::registered()
        .into_iter()
        .filter(|r| r.group == group && r.version == version)
        .map(|r| (r, crds::schema_of(r)))
        .collect()
}

/// The group versions served, in the order discovery lists them (core `v1` first).
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut seen = Vec::new();
    for r in all_resources() {
        if !seen.contains(&(r.group, r.version)) {
            seen.push((r.group, r.version));
        }
    }
    seen
}

/// The resources of one group version, in table order.
pub fn resources_of(group: &str, version: &str) -> impl Iterator<Item = &'static Resource> {
    let (group, version) = (group.to_owned(), version.to_owned());
    all_resources()
        .into_iter()
        .filter(move |r| r.group == group && r.version == version)
}

/// Whether anything is served at a group version (built-in first: no lock, no allocation, as
/// on every request for a built-in group).
pub fn serves(group: &str, version: &str) -> bool {
    RESOURCES
        .iter()
        .any(|r| r.group == group && r.version == version)
        || crds::registered()
            .into_iter()
            .any(|r| r.group == group && r.version == version)
}

/// The resource a group, version and plural name designate.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
        .or_else(|| {
            crds::registered()
                .into_iter()
                .find(|r| r.group == group && r.version == version && r.plural == plural)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for (i, r) in RESOURCES.iter().enumerate() {
            assert!(
                !r.plural.is_empty() && r.plural.chars().all(|c| c.is_ascii_lowercase()),
                "{}",
                r.plural
            );
            assert!(
                r.kind.starts_with(|c: char| c.is_ascii_uppercase()),
                "{}",
                r.kind
            );
            assert!(!r.verbs.is_empty(), "{} has no verbs", r.plural);
            let twin = RESOURCES[..i]
                .iter()
                .find(|o| o.group == r.group && o.version == r.version && o.plural == r.plural);
            assert!(
                twin.is_none(),
                "{}/{} {} declared twice",
                r.group,
                r.version,
                r.plural
            );
        }
        let short: Vec<_> = RESOURCES
            .iter()
            .flat_map(|r| r.short_names.iter().map(move |s| (r.group, *s)))
            .collect();
        assert!(short.iter().any(|(g, s)| g.is_empty() && *s == "po"));
        assert_eq!(group_versions()[0], ("", "v1"));
        assert!(
            find("apps", "v1", "deployments")
                .is_some_and(|d| d.subresources.iter().any(|s| s.name == "scale"))
        );
    }
}
