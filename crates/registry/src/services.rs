//! Services: the ClusterIPs and NodePorts they hold (their defaults, rules and columns are in
//! [`crate::kinds::services`]). Each held address or port is a key of its own in the store
//! (`/registry/ranges/serviceips/<ip>`, `/registry/ranges/servicenodeports/<port>`), created only
//! if absent, so two Services can never get the same one, even when created at the same moment.

use std::net::IpAddr;
use std::ops::RangeInclusive;

use ipnet::IpNet;
use k0rs_api::Status;
use serde_json::{Value, json};

use crate::generic::{Registry, store_error};

/// Where Services get their addresses and node ports from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceNetwork {
    pub cidr: IpNet,
    pub node_ports: RangeInclusive<u16>,
}

impl Default for ServiceNetwork {
    /// Kubernetes' and k0s's defaults: 10.96.0.0/12, ports 30000–32767.
    fn default() -> Self {
        Self {
            cidr: "10.96.0.0/12".parse().expect("a valid CIDR"),
            node_ports: 30000..=32767,
        }
    }
}

const IP_PREFIX: &str = "/registry/ranges/serviceips/";
const PORT_PREFIX: &str = "/registry/ranges/servicenodeports/";

/// Attempts at a random free address or port before the range counts as full.
const ATTEMPTS: usize = 256;

/// The outcome of reserving an address or port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reservation {
    /// Reserved now (to be released if the write fails).
    New,
    /// Already held by the same Service.
    Ours,
    Taken,
}

/// What a Service holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Held {
    ips: Vec<IpAddr>,
    ports: Vec<u16>,
}

impl Held {
    fn of(service: &Value) -> Self {
        let spec = &service["spec"];
        let ips = spec["clusterIPs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|ip| ip.as_str()?.parse().ok())
            .collect();
        let ports = spec["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["nodePort"].as_u64()?.try_into().ok())
            .collect();
        Self { ips, ports }
    }

    /// What `self` holds that `other` does not.
    fn minus(&self, other: &Self) -> Self {
        Self {
            ips: self
                .ips
                .iter()
                .filter(|ip| !other.ips.contains(ip))
                .copied()
                .collect(),
            ports: self
                .ports
                .iter()
                .filter(|p| !other.ports.contains(p))
                .copied()
                .collect(),
        }
    }
}

fn invalid(name: &str, field: &str, message: String) -> Status {
    Status::invalid_field("", "Service", name, field, message)
}

fn wants_cluster_ip(spec: &Value) -> bool {
    spec["type"] != "ExternalName" && spec["clusterIP"] != "None"
}

fn wants_node_ports(spec: &Value) -> bool {
    spec["type"] == "NodePort"
        || (spec["type"] == "LoadBalancer" && spec["allocateLoadBalancerNodePorts"] != false)
}

impl Registry {
    /// Gives a Service being created or updated the ClusterIP and NodePorts it needs (keeping
    /// those of `stored` on an update) and reserves them. Returns what was newly reserved, to be
    /// released if the write fails.
    pub(crate) async fn hold_service_resources(
        &self,
        stored: Option<&Value>,
        service: &mut Value,
    ) -> Result<Held, Status> {
        if self.is_dry_run() {
            // A dry run reserves nothing.
            return Ok(Held::default());
        }
        let network = self.service_network().clone();
        let mut reserved = Held::default();
        let result = self.hold(&network, stored, service, &mut reserved).await;
        match result {
            Ok(()) => Ok(reserved),
            Err(status) => {
                self.release_held(&reserved).await;
                Err(status)
            }
        }
    }

    async fn hold(
        &self,
        network: &ServiceNetwork,
        stored: Option<&Value>,
        service: &mut Value,
        reserved: &mut Held,
    ) -> Result<(), Status> {
        self.hold_cluster_ip(network, stored, service, reserved)
            .await?;
        self.hold_node_ports(network, stored, service, reserved)
            .await
    }

    /// The owner of a Service's reservations (`<namespace>/<name>`) and its name.
    fn owner(service: &Value) -> (String, String) {
        let name = service["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let namespace = service["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default();
        (format!("{namespace}/{name}"), name)
    }

    async fn hold_cluster_ip(
        &self,
        network: &ServiceNetwork,
        stored: Option<&Value>,
        service: &mut Value,
        reserved: &mut Held,
    ) -> Result<(), Status> {
        let (owner, name) = Self::owner(service);
        let name = name.as_str();
        let spec = &mut service["spec"];
        if wants_cluster_ip(spec) {
            let old_ip = stored.and_then(|s| s["spec"]["clusterIP"].as_str().map(str::to_owned));
            let given = spec["clusterIP"].as_str().filter(|ip| !ip.is_empty());
            let ip = match (given, old_ip) {
                (Some(given), Some(old)) if given != old => {
                    return Err(invalid(
                        name,
                        "spec.clusterIPs[0]",
                        "Invalid value: may not change once set".into(),
                    ));
                }
                (_, Some(old)) => old,
                (Some(given), None) => {
                    let ip: IpAddr = given.parse().map_err(|_| {
                        invalid(name, "spec.clusterIPs[0]", format!(
                            "Invalid value: {given:?}: must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
                        ))
                    })?;
                    if !network.cidr.contains(&ip) {
                        return Err(invalid(
                            name,
                            "spec.clusterIPs[0]",
                            format!(
                                "Invalid value: {given:?}: provided IP is not in the valid range. The range of valid IPs is {}",
                                network.cidr
                            ),
                        ));
                    }
                    match self.reserve(IP_PREFIX, &ip.to_string(), &owner).await? {
                        Reservation::New => reserved.ips.push(ip),
                        Reservation::Ours => {}
                        Reservation::Taken => {
                            return Err(invalid(
                                name,
                                "spec.clusterIPs[0]",
                                format!(
                                    "Invalid value: {given:?}: provided IP is already allocated"
                                ),
                            ));
                        }
                    }
                    ip.to_string()
                }
                (None, None) => {
                    let ip = self.reserve_random_ip(&network.cidr, &owner).await?;
                    reserved.ips.push(ip);
                    ip.to_string()
                }
            };
            let family = if ip.contains(':') { "IPv6" } else { "IPv4" };
            spec["clusterIP"] = json!(ip);
            spec["clusterIPs"] = json!([ip]);
            spec["ipFamilies"] = json!([family]);
            spec["ipFamilyPolicy"] = json!("SingleStack");
        } else if spec["type"] != "ExternalName" {
            // Headless.
            spec["clusterIPs"] = json!(["None"]);
            if spec.get("ipFamilies").is_none() {
                spec["ipFamilies"] = json!(["IPv4"]);
                spec["ipFamilyPolicy"] = json!("SingleStack");
            }
        }
        Ok(())
    }

    async fn hold_node_ports(
        &self,
        network: &ServiceNetwork,
        stored: Option<&Value>,
        service: &mut Value,
        reserved: &mut Held,
    ) -> Result<(), Status> {
        let (owner, name) = Self::owner(service);
        let name = name.as_str();
        let spec = &mut service["spec"];
        let node_ports = wants_node_ports(spec);
        let old_ports: Vec<(Value, u64)> = stored
            .into_iter()
            .flat_map(|s| s["spec"]["ports"].as_array().cloned().unwrap_or_default())
            .filter_map(|p| Some((p["port"].clone(), p["nodePort"].as_u64()?)))
            .collect();
        for (index, port) in spec["ports"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .enumerate()
        {
            if !node_ports {
                if let Some(map) = port.as_object_mut() {
                    map.remove("nodePort");
                }
                continue;
            }
            let field = format!("spec.ports[{index}].nodePort");
            // 0 means "allocate one" (Go's zero, what protobuf clients send).
            match port["nodePort"].as_u64().filter(|p| *p != 0) {
                Some(given) if old_ports.iter().any(|(_, p)| *p == given) => {}
                Some(given) => {
                    let given = u16::try_from(given)
                        .ok()
                        .filter(|p| network.node_ports.contains(p))
                        .ok_or_else(|| {
                            invalid(name, &field, format!(
                                "Invalid value: {given}: provided port is not in the valid range. The range of valid ports is {}-{}",
                                network.node_ports.start(), network.node_ports.end()
                            ))
                        })?;
                    match self
                        .reserve(PORT_PREFIX, &given.to_string(), &owner)
                        .await?
                    {
                        Reservation::New => reserved.ports.push(given),
                        Reservation::Ours => {}
                        Reservation::Taken => {
                            return Err(invalid(
                                name,
                                &field,
                                format!(
                                    "Invalid value: {given}: provided port is already allocated"
                                ),
                            ));
                        }
                    }
                }
                None => {
                    // An update keeps the node port the same service port had.
                    if let Some((_, old)) = old_ports.iter().find(|(p, _)| *p == port["port"]) {
                        port["nodePort"] = json!(old);
                        continue;
                    }
                    let allocated = self
                        .reserve_random_port(&network.node_ports, &owner)
                        .await?;
                    reserved.ports.push(allocated);
                    port["nodePort"] = json!(allocated);
                }
            }
        }
        Ok(())
    }

    /// Releases what a Service held before an update and holds no more.
    pub(crate) async fn release_dropped(&self, before: &Value, after: &Value) {
        let dropped = Held::of(before).minus(&Held::of(after));
        self.release_held(&dropped).await;
    }

    /// Releases everything a removed Service held.
    pub(crate) async fn release_service(&self, service: &Value) {
        self.release_held(&Held::of(service)).await;
    }

    pub(crate) async fn release_held(&self, held: &Held) {
        let keys = held
            .ips
            .iter()
            .map(|ip| format!("{IP_PREFIX}{ip}"))
            .chain(held.ports.iter().map(|p| format!("{PORT_PREFIX}{p}")));
        for key in keys {
            if let Err(e) = self.release(&key).await {
                // A leaked reservation only makes one address or port unavailable.
                tracing::warn!(component = "registry", key, error = %e, "cannot release");
            }
        }
    }

    async fn release(&self, key: &str) -> Result<(), k0rs_store::StoreError> {
        if let Some(kv) = self.store().get(key.as_bytes()).await? {
            // Deleted only as it was read: a concurrent re-reservation is left alone.
            let _ = self.store().delete(key.as_bytes(), kv.mod_revision).await?;
        }
        Ok(())
    }

    /// Creates the reservation key. A key the same Service already holds (a Service created again
    /// at start-up, or re-created after a release that failed) stays its own.
    async fn reserve(&self, prefix: &str, item: &str, owner: &str) -> Result<Reservation, Status> {
        let key = format!("{prefix}{item}");
        let created = self
            .store()
            .create(key.as_bytes(), owner.as_bytes(), 0)
            .await
            .map_err(|e| store_error(&e))?;
        if created.is_some() {
            return Ok(Reservation::New);
        }
        let holder = self
            .store()
            .get(key.as_bytes())
            .await
            .map_err(|e| store_error(&e))?;
        Ok(match holder {
            Some(kv) if kv.value == owner.as_bytes() => Reservation::Ours,
            _ => Reservation::Taken,
        })
    }

    async fn reserve_random_ip(&self, cidr: &IpNet, owner: &str) -> Result<IpAddr, Status> {
        let size = cidr_size(cidr);
        // Skip the network address; for IPv4 the broadcast address too.
        let usable = size.saturating_sub(if cidr.addr().is_ipv4() { 2 } else { 1 });
        let start = random_below(usable);
        for attempt in 0..ATTEMPTS.min(usize::try_from(usable).unwrap_or(usize::MAX)) {
            let offset = 1 + (start + attempt as u128) % usable;
            let ip = nth_address(cidr, offset);
            // A random pick that happens to be this Service's own would be kept on failure;
            // only fresh ones count.
            if self.reserve(IP_PREFIX, &ip.to_string(), owner).await? == Reservation::New {
                return Ok(ip);
            }
        }
        Err(Status::internal(format!(
            "failed to allocate a serviceIP: range {cidr} is full"
        )))
    }

    async fn reserve_random_port(
        &self,
        range: &RangeInclusive<u16>,
        owner: &str,
    ) -> Result<u16, Status> {
        let size = u128::from(range.end() - range.start()) + 1;
        let start = random_below(size);
        for attempt in 0..size.min(ATTEMPTS as u128) {
            let port = *range.start()
                + u16::try_from((start + attempt) % size).expect("below the range size");
            if self.reserve(PORT_PREFIX, &port.to_string(), owner).await? == Reservation::New {
                return Ok(port);
            }
        }
        Err(Status::internal(format!(
            "failed to allocate a nodePort: range {}-{} is full",
            range.start(),
            range.end()
        )))
    }
}

fn cidr_size(cidr: &IpNet) -> u128 {
    let bits = u32::from(cidr.max_prefix_len() - cidr.prefix_len());
    1u128.checked_shl(bits).unwrap_or(u128::MAX)
}

fn nth_address(cidr: &IpNet, offset: u128) -> IpAddr {
    match cidr.network() {
        IpAddr::V4(base) => {
            let n = u32::from(base).wrapping_add(u32::try_from(offset).unwrap_or(u32::MAX));
            IpAddr::V4(n.into())
        }
        IpAddr::V6(base) => IpAddr::V6(u128::from(base).wrapping_add(offset).into()),
    }
}

fn random_below(bound: u128) -> u128 {
    if bound == 0 {
        return 0;
    }
    u128::from_le_bytes(uuid::Uuid::new_v4().into_bytes()) % bound
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_counted_from_the_network_address() {
        let cidr: IpNet = "10.96.0.0/12".parse().unwrap();
        assert_eq!(cidr_size(&cidr), 1 << 20);
        assert_eq!(nth_address(&cidr, 10).to_string(), "10.96.0.10");
        assert_eq!(nth_address(&cidr, 256).to_string(), "10.96.1.0");
    }
}
