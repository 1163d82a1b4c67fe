//! What pods request and nodes offer, in numbers: cpu in cores, memory and storage in bytes,
//! everything else as counted. A pod requests the larger of its containers' sum and its largest
//! init container, plus its overhead (Kubernetes' effective request).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Node, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// The resources every pod and node has, kept in fields (filters and scores read them for every
/// node and pod: no map lookups); each at its index in `Amounts::fixed`.
const FIXED: [&str; 4] = ["cpu", "memory", "ephemeral-storage", "pods"];
const PODS: usize = 3;

/// Amounts by resource name: those of `FIXED` in fields, extended resources by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Amounts {
    fixed: [f64; FIXED.len()],
    /// Whether `pods` was given (a node listing none may hold the kubelet's default).
    pods_listed: bool,
    extended: BTreeMap<String, f64>,
}

/// What scoring assumes of a container that requests no cpu or memory (Kubernetes' defaults), so
/// that pods without requests still spread.
const DEFAULT_CPU: f64 = 0.1;
const DEFAULT_MEMORY: f64 = 200.0 * 1024.0 * 1024.0;

impl Amounts {
    pub fn get(&self, name: &str) -> f64 {
        match FIXED.iter().position(|f| *f == name) {
            Some(i) => self.fixed[i],
            None => self.extended.get(name).copied().unwrap_or(0.0),
        }
    }

    /// The amount of `name`, added if missing (without allocating a key that is already there:
    /// this runs for every placed pod).
    fn slot(&mut self, name: &str) -> &mut f64 {
        if let Some(i) = FIXED.iter().position(|f| *f == name) {
            return &mut self.fixed[i];
        }
        if !self.extended.contains_key(name) {
            self.extended.insert(name.to_owned(), 0.0);
        }
        self.extended.get_mut(name).expect("just inserted")
    }

    /// The pods a node may hold: its `pods` allocatable, 110 (the kubelet's default) when it
    /// lists none.
    pub fn max_pods(&self) -> f64 {
        if self.pods_listed {
            self.fixed[PODS]
        } else {
            110.0
        }
    }

    /// Every resource with an amount other than zero.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        FIXED
            .into_iter()
            .zip(self.fixed)
            .chain(self.extended.iter().map(|(name, a)| (name.as_str(), *a)))
            .filter(|(_, amount)| *amount != 0.0)
    }

    fn combine(&mut self, other: &Amounts, op: impl Fn(f64, f64) -> f64) {
        for (mine, theirs) in self.fixed.iter_mut().zip(other.fixed) {
            *mine = op(*mine, theirs);
        }
        for (name, amount) in &other.extended {
            let slot = self.slot(name);
            *slot = op(*slot, *amount);
        }
    }

    pub fn add(&mut self, other: &Amounts) {
        self.combine(other, |a, b| a + b);
    }

    pub fn subtract(&mut self, other: &Amounts) {
        self.combine(other, |a, b| a - b);
    }

    fn max(&mut self, other: &Amounts) {
        self.combine(other, f64::max);
    }

    fn of(list: Option<&BTreeMap<String, Quantity>>) -> Self {
        let mut amounts = Self::default();
        for (name, q) in list.into_iter().flatten() {
            if let Some(amount) = k0rs_api::quantity::parse(&q.0) {
                *amounts.slot(name) = amount;
                amounts.pods_listed |= name == "pods";
            }
        }
        amounts
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
        // Only a request left out takes the default; one of zero stays zero.
        let requests = c.resources.as_ref().and_then(|r| r.requests.as_ref());
        let or_default = |name: &str, default: f64| {
            requests
                .and_then(|r| r.get(name))
                .and_then(|q| k0rs_api::quantity::parse(&q.0))
                .unwrap_or(default)
        };
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
