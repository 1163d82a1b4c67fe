//! Services: their defaults, their rules, kubectl's columns. The ClusterIPs and NodePorts they
//! hold are [`crate::services`]'.

use serde_json::{Value, json};

use super::{Strategy, on_spec};
use crate::columns::{AGE, Column, NAME, column};
use crate::printers::{joined, map_selector, strings, text};
use crate::validation::{Errors, PROTOCOLS, port_in_range};

pub static STRATEGY: Strategy = Strategy {
    defaults: |service| on_spec(service, defaults),
    prepare_for_create,
    validate: |service, errors| validate(&service["spec"], errors),
    label_names: true,
    columns,
    holds_service_addresses: true,
    ..Strategy::DEFAULT
};

/// A new Service's status is what kube-apiserver writes for one without any: Go encodes the
/// `ServiceStatus` and `LoadBalancerStatus` structs even when empty, and clients read
/// `status.loadBalancer` without checking that it is there.
fn prepare_for_create(service: &mut Value) {
    service["status"] = json!({ "loadBalancer": {} });
}

/// Defaults of a Service spec that do not depend on allocation.
fn defaults(spec: &mut Value) {
    if spec.get("type").is_none_or(Value::is_null) {
        spec["type"] = json!("ClusterIP");
    }
    let kind = spec["type"].as_str().unwrap_or_default().to_owned();
    if kind == "ExternalName" {
        return;
    }
    for (field, value) in [
        ("sessionAffinity", json!("None")),
        ("internalTrafficPolicy", json!("Cluster")),
    ] {
        if spec.get(field).is_none_or(Value::is_null) {
            spec[field] = value;
        }
    }
    if matches!(kind.as_str(), "NodePort" | "LoadBalancer")
        && spec.get("externalTrafficPolicy").is_none_or(Value::is_null)
    {
        spec["externalTrafficPolicy"] = json!("Cluster");
    }
    if kind == "LoadBalancer" && spec.get("allocateLoadBalancerNodePorts").is_none() {
        spec["allocateLoadBalancerNodePorts"] = json!(true);
    }
    for port in spec
        .get_mut("ports")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if port.get("protocol").is_none() {
            port["protocol"] = json!("TCP");
        }
        // 0 and "" are Go's unset IntOrString (what protobuf clients send for it).
        if port
            .get("targetPort")
            .is_none_or(|t| t == 0 || t == "" || t.is_null())
        {
            port["targetPort"] = port["port"].clone();
        }
    }
}

fn validate(spec: &Value, errors: &mut Errors) {
    let types = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];
    let kind = spec["type"].as_str().unwrap_or("ClusterIP");
    if !types.contains(&kind) {
        errors.unsupported("spec.type", &spec["type"], &types);
    }
    let ports = spec["ports"].as_array().map_or(&[][..], Vec::as_slice);
    let headless = spec["clusterIP"] == "None";
    if ports.is_empty() && kind != "ExternalName" && !headless {
        errors.required("spec.ports");
    }
    if kind == "ExternalName" && spec["externalName"].as_str().is_none_or(str::is_empty) {
        errors.required("spec.externalName");
    }
    let mut names = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let at = format!("spec.ports[{i}]");
        if !port_in_range(&port["port"]) {
            errors.invalid(
                &format!("{at}.port"),
                &port["port"],
                "must be between 1 and 65535, inclusive",
            );
        }
        let name = port["name"].as_str().unwrap_or_default();
        if ports.len() > 1 && name.is_empty() {
            errors.required(&format!("{at}.name"));
        } else if names.contains(&name) {
            errors.duplicate(&format!("{at}.name"), &port["name"]);
        }
        names.push(name);
        if let Some(protocol) = port["protocol"].as_str()
            && !PROTOCOLS.contains(&protocol)
        {
            errors.unsupported(&format!("{at}.protocol"), &port["protocol"], &PROTOCOLS);
        }
    }
}

fn columns() -> Vec<Column> {
    vec![
        NAME,
        column("Type", "string", 0, |v, _| text(&v["spec"]["type"])),
        column("Cluster-IP", "string", 0, |v, _| {
            text(&v["spec"]["clusterIP"])
        }),
        column("External-IP", "string", 0, |v, _| external_ips(v)),
        column("Port(s)", "string", 0, |v, _| ports(v)),
        AGE,
        column("Selector", "string", 1, |v, _| {
            map_selector(&v["spec"]["selector"])
        }),
    ]
}

fn ports(v: &Value) -> Value {
    joined(
        v["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                let protocol = p["protocol"].as_str().unwrap_or("TCP");
                match p["nodePort"].as_u64() {
                    Some(node) => format!("{}:{node}/{protocol}", p["port"]),
                    None => format!("{}/{protocol}", p["port"]),
                }
            }),
    )
}

fn external_ips(v: &Value) -> Value {
    let ingress: Vec<String> = v["status"]["loadBalancer"]["ingress"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| {
            i["ip"]
                .as_str()
                .or(i["hostname"].as_str())
                .map(str::to_owned)
        })
        .collect();
    let mut all: Vec<String> = strings(&v["spec"]["externalIPs"]).collect();
    all.extend(ingress);
    if all.is_empty() && v["spec"]["type"] == "LoadBalancer" {
        return Value::from("<pending>");
    }
    if v["spec"]["type"] == "ExternalName" {
        return text(&v["spec"]["externalName"]);
    }
    joined(all.into_iter())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::printers::NONE;

    #[test]
    fn service_ports_show_node_ports() {
        let service = json!({"spec": {"type": "NodePort", "ports": [
            {"port": 80, "protocol": "TCP", "nodePort": 30080},
            {"port": 53, "protocol": "UDP"}
        ]}});
        assert_eq!(ports(&service), "80:30080/TCP,53/UDP");
        assert_eq!(external_ips(&service), NONE);
    }

    #[test]
    fn defaults_fill_type_protocol_and_target_port() {
        let mut spec = json!({"ports": [{"port": 80}, {"port": 53, "protocol": "UDP", "targetPort": 5353}, {"port": 8, "targetPort": 0}]});
        defaults(&mut spec);
        assert_eq!(spec["type"], "ClusterIP");
        assert_eq!(spec["sessionAffinity"], "None");
        assert_eq!(spec["ports"][0]["protocol"], "TCP");
        assert_eq!(spec["ports"][0]["targetPort"], 80);
        assert_eq!(spec["ports"][1]["targetPort"], 5353);
        assert_eq!(spec["ports"][2]["targetPort"], 8);
        assert!(spec.get("externalTrafficPolicy").is_none());
    }
}
