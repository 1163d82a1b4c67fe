//! What pods request and nodes offer, in numbers: cpu in cores, memory and storage in bytes,
//! everything else as counted. A pod requests the larger of its containers' sum and its largest
//! init container, plus its overhead (Kubernetes' effective request).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Node, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// Amounts by resource name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Amounts(pub BTreeMap<String, f64>);

/// What scoring assumes of a container that requests no cpu or memory (Kubernetes' defaults), so
/// that pods without requests still spread.
const DEFAULT_CPU: f64 = 0.1;
const DEFAULT_MEMORY: f64 = 200.0 * 1024.0 * 1024.0;

impl Amounts {
    pub fn get(&self, name: &str) -> f64 {
        self.0.get(name).copied().unwrap_or(0.0)
    }

    /// The amount of `name`, added if missing (without allocating a key that is already there:
    /// this runs for every placed pod).
    fn slot(&mut self, name: &str) -> &mut f64 {
        if !self.0.contains_key(name) {
            self.0.insert(name.to_owned(), 0.0);
        }
        self.0.get_mut(name).expect("just inserted")
    }

    pub fn add(&mut self, other: &Amounts) {
        for (name, amount) in &other.0 {
            *self.slot(name) += amount;
        }
    }

    pub fn subtract(&mut self, other: &Amounts) {
        for (name, amount) in &other.0 {
            *self.slot(name) -= amount;
        }
    }

    fn max(&mut self, other: &Amounts) {
        for (name, amount) in &other.0 {
            let slot = self.slot(name);
            *slot = slot.max(*amount);
        }
    }

    fn of(list: Option<&BTreeMap<String, Quantity>>) -> Self {
        Self(
            list.into_iter()
                .flatten()
                .filter_map(|(name, q)| Some((name.clone(), k0rs_api::quantity::parse(&q.0)?)))
                .collect(),
        )
    }
}

fn container_requests(container: &Container) -> Amounts {
    Amounts::of(
        container
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref()),
    )
}

/// The effective requests of a pod.
pub fn pod_requests(pod: &Pod) -> Amounts {
    let Some(spec) = &pod.spec else {
        return Amounts::default();
    };
    let mut total = Amounts::default();
    for container in &spec.containers {
        total.add(&container_requests(container));
    }
    for init in spec.init_containers.iter().flatten() {
        total.max(&container_requests(init));
    }
    total.add(&Amounts::of(spec.overhead.as_ref()));
    total
}

/// The (cpu, memory) a pod counts for in scoring: requests, with defaults where none are set.
pub fn scoring_requests(pod: &Pod) -> (f64, f64) {
    let Some(spec) = &pod.spec else {
        return (0.0, 0.0);
    };
    spec.containers.iter().fold((0.0, 0.0), |(cpu, memory), c| {
        let requests = container_requests(c);
        let or_default =
            |name: &str, default: f64| requests.0.get(name).copied().unwrap_or(default);
        (
            cpu + or_default("cpu", DEFAULT_CPU),
            memory + or_default("memory", DEFAULT_MEMORY),
        )
    })
}

/// What a node can give to pods (`status.allocatable`, else its capacity).
pub fn allocatable(node: &Node) -> Amounts {
    let status = node.status.as_ref();
    let listed = status
        .and_then(|s| s.allocatable.as_ref())
        .or_else(|| status.and_then(|s| s.capacity.as_ref()));
    Amounts::of(listed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(json: serde_json::Value) -> Pod {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn init_containers_count_by_the_largest_and_defaults_fill_scoring() {
        let p = pod(serde_json::json!({"spec": {
        "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "2"}}}],
        "containers": [
            {"name": "a", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}},
            {"name": "b", "resources": {"requests": {"cpu": "250m"}}}
        ]}}));
        let requests = pod_requests(&p);
        assert!((requests.get("cpu") - 2.0).abs() < 1e-9);
        assert!((requests.get("memory") - 1024.0 * 1024.0 * 1024.0).abs() < 1.0);
        let (cpu, memory) = scoring_requests(&p);
        assert!((cpu - 0.75).abs() < 1e-9);
        assert!((memory - (1024.0 * 1024.0 * 1024.0 + DEFAULT_MEMORY)).abs() < 1.0);
    }
}
