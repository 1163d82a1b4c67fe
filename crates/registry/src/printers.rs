//! The columns of each kind, in the order and with the headers kubectl shows for Kubernetes 1.28
//! (priority 1 columns only with `-o wide`).

use serde_json::Value;

use crate::columns::{AGE, Column, NAME, age, column};
use crate::subresource::selector_string;
use crate::table::Resource;

const NONE: &str = "<none>";

fn text(v: &Value) -> Value {
    Value::from(v.as_str().filter(|s| !s.is_empty()).unwrap_or(NONE))
}

fn int(v: &Value) -> Value {
    Value::from(v.as_i64().unwrap_or(0))
}

fn count(v: &Value) -> usize {
    v.as_object().map_or(0, serde_json::Map::len) + v.as_array().map_or(0, Vec::len)
}

fn joined(values: impl Iterator<Item = String>) -> Value {
    let all: Vec<String> = values.collect();
    Value::from(if all.is_empty() {
        NONE.to_owned()
    } else {
        all.join(",")
    })
}

fn strings(v: &Value) -> impl Iterator<Item = String> + '_ {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
}

/// A field of each container of a pod spec (`name`, `image`), comma-separated.
fn of_containers(pod_spec: &Value, field: &str) -> Value {
    joined(
        pod_spec["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| c[field].as_str().unwrap_or_default().to_owned()),
    )
}

fn selector(v: &Value) -> Value {
    let s = selector_string(v);
    Value::from(if s.is_empty() { NONE.to_owned() } else { s })
}

fn map_selector(v: &Value) -> Value {
    joined(
        v.as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())),
    )
}

/// CONTAINERS, IMAGES and SELECTOR of a workload (`-o wide`).
fn workload_wide() -> [Column; 3] {
    [
        column("Containers", "string", 1, |v, _| {
            of_containers(&v["spec"]["template"]["spec"], "name")
        }),
        column("Images", "string", 1, |v, _| {
            of_containers(&v["spec"]["template"]["spec"], "image")
        }),
        column("Selector", "string", 1, |v, _| {
            let selector_value = &v["spec"]["selector"];
            if selector_value.get("matchLabels").is_some()
                || selector_value.get("matchExpressions").is_some()
            {
                selector(selector_value)
            } else {
                map_selector(selector_value)
            }
        }),
    ]
}

fn service_ports(v: &Value) -> Value {
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

fn endpoints(v: &Value) -> Value {
    let mut out = Vec::new();
    for subset in v["subsets"].as_array().into_iter().flatten() {
        for address in subset["addresses"].as_array().into_iter().flatten() {
            for port in subset["ports"].as_array().into_iter().flatten() {
                out.push(format!(
                    "{}:{}",
                    address["ip"].as_str().unwrap_or_default(),
                    port["port"]
                ));
            }
        }
    }
    joined(out.into_iter())
}

fn pod_ready(v: &Value, _: i64) -> Value {
    let total = v["spec"]["containers"].as_array().map_or(0, Vec::len);
    let ready = v["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["ready"].as_bool() == Some(true))
        .count();
    Value::from(format!("{ready}/{total}"))
}

/// A pod's STATUS as kubectl prints it: the waiting or terminated reason of a container if any,
/// `Terminating` while being deleted, else the phase.
fn pod_status(v: &Value, _: i64) -> Value {
    if v["metadata"].get("deletionTimestamp").is_some() {
        return Value::from("Terminating");
    }
    for status in v["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let state = &status["state"];
        if let Some(reason) = state["waiting"]["reason"]
            .as_str()
            .or(state["terminated"]["reason"].as_str())
        {
            return Value::from(reason);
        }
    }
    text(v["status"].get("reason").unwrap_or(&v["status"]["phase"]))
}

fn pod_restarts(v: &Value, _: i64) -> Value {
    let restarts: i64 = v["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["restartCount"].as_i64())
        .sum();
    Value::from(restarts)
}

fn node_status(v: &Value, _: i64) -> Value {
    let ready = v["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready");
    let mut status = match ready.and_then(|c| c["status"].as_str()) {
        Some("True") => "Ready".to_owned(),
        Some("Unknown") | None => "Unknown".to_owned(),
        _ => "NotReady".to_owned(),
    };
    if v["spec"]["unschedulable"].as_bool() == Some(true) {
        status.push_str(",SchedulingDisabled");
    }
    Value::from(status)
}

fn node_roles(v: &Value, _: i64) -> Value {
    joined(
        v["metadata"]["labels"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/"))
            .map(str::to_owned),
    )
}

fn node_address(v: &Value, kind: &str) -> Value {
    text(
        v["status"]["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["type"] == kind)
            .map_or(&Value::Null, |a| &a["address"]),
    )
}

/// `ready/desired` of a Deployment or StatefulSet.
fn ready_of_desired(v: &Value, _: i64) -> Value {
    Value::from(format!(
        "{}/{}",
        v["status"]["readyReplicas"].as_i64().unwrap_or(0),
        v["spec"]["replicas"].as_i64().unwrap_or(1)
    ))
}

fn workload(resource: &Resource) -> Vec<Column> {
    let mut columns = vec![NAME];
    match resource.kind {
        "Deployment" => columns.extend([
            column("Ready", "string", 0, ready_of_desired),
            column("Up-to-date", "integer", 0, |v, _| {
                int(&v["status"]["updatedReplicas"])
            }),
            column("Available", "integer", 0, |v, _| {
                int(&v["status"]["availableReplicas"])
            }),
        ]),
        "StatefulSet" => columns.push(column("Ready", "string", 0, ready_of_desired)),
        "DaemonSet" => columns.extend([
            column("Desired", "integer", 0, |v, _| {
                int(&v["status"]["desiredNumberScheduled"])
            }),
            column("Current", "integer", 0, |v, _| {
                int(&v["status"]["currentNumberScheduled"])
            }),
            column("Ready", "integer", 0, |v, _| {
                int(&v["status"]["numberReady"])
            }),
            column("Up-to-date", "integer", 0, |v, _| {
                int(&v["status"]["updatedNumberScheduled"])
            }),
            column("Available", "integer", 0, |v, _| {
                int(&v["status"]["numberAvailable"])
            }),
            column("Node Selector", "string", 0, |v, _| {
                map_selector(&v["spec"]["template"]["spec"]["nodeSelector"])
            }),
        ]),
        // ReplicaSet, ReplicationController.
        _ => columns.extend([
            column("Desired", "integer", 0, |v, _| {
                Value::from(v["spec"]["replicas"].as_i64().unwrap_or(1))
            }),
            column("Current", "integer", 0, |v, _| {
                int(&v["status"]["replicas"])
            }),
            column("Ready", "integer", 0, |v, _| {
                int(&v["status"]["readyReplicas"])
            }),
        ]),
    }
    columns.push(AGE);
    columns.extend(workload_wide());
    if resource.kind == "StatefulSet" {
        columns.pop();
    }
    columns
}

fn job_columns() -> Vec<Column> {
    let mut columns = vec![
        NAME,
        column("Completions", "string", 0, |v, _| {
            let completions = v["spec"]["completions"]
                .as_i64()
                .map_or_else(|| "1".to_owned(), |c| c.to_string());
            Value::from(format!(
                "{}/{completions}",
                v["status"]["succeeded"].as_i64().unwrap_or(0)
            ))
        }),
        column("Duration", "string", 0, |v, now| {
            let start = v["status"]["startTime"]
                .as_str()
                .and_then(k0rs_api::time::parse_unix);
            let end = v["status"]["completionTime"]
                .as_str()
                .and_then(k0rs_api::time::parse_unix)
                .unwrap_or(now);
            Value::from(start.map_or_else(String::new, |s| k0rs_api::time::human_duration(end - s)))
        }),
        AGE,
    ];
    columns.extend(workload_wide());
    columns
}

#[allow(clippy::too_many_lines)] // a table of the core kinds' columns, one entry each
fn core_columns(kind: &str) -> Option<Vec<Column>> {
    Some(match kind {
        "ConfigMap" => vec![
            NAME,
            column("Data", "integer", 0, |v, _| {
                Value::from(count(&v["data"]) + count(&v["binaryData"]))
            }),
            AGE,
        ],
        "Secret" => vec![
            NAME,
            column("Type", "string", 0, |v, _| text(&v["type"])),
            column("Data", "integer", 0, |v, _| Value::from(count(&v["data"]))),
            AGE,
        ],
        "Namespace" => vec![
            NAME,
            column("Status", "string", 0, |v, _| text(&v["status"]["phase"])),
            AGE,
        ],
        "Service" => vec![
            NAME,
            column("Type", "string", 0, |v, _| text(&v["spec"]["type"])),
            column("Cluster-IP", "string", 0, |v, _| {
                text(&v["spec"]["clusterIP"])
            }),
            column("External-IP", "string", 0, |v, _| external_ips(v)),
            column("Port(s)", "string", 0, |v, _| service_ports(v)),
            AGE,
            column("Selector", "string", 1, |v, _| {
                map_selector(&v["spec"]["selector"])
            }),
        ],
        "Endpoints" => vec![
            NAME,
            column("Endpoints", "string", 0, |v, _| endpoints(v)),
            AGE,
        ],
        "ServiceAccount" => vec![
            NAME,
            column("Secrets", "integer", 0, |v, _| {
                Value::from(count(&v["secrets"]))
            }),
            AGE,
        ],
        "Pod" => vec![
            NAME,
            column("Ready", "string", 0, pod_ready),
            column("Status", "string", 0, pod_status),
            column("Restarts", "integer", 0, pod_restarts),
            AGE,
            column("IP", "string", 1, |v, _| text(&v["status"]["podIP"])),
            column("Node", "string", 1, |v, _| text(&v["spec"]["nodeName"])),
            column("Nominated Node", "string", 1, |v, _| {
                text(&v["status"]["nominatedNodeName"])
            }),
            column("Readiness Gates", "string", 1, |v, _| {
                joined(
                    v["spec"]["readinessGates"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|g| g["conditionType"].as_str().map(str::to_owned)),
                )
            }),
        ],
        "Node" => vec![
            NAME,
            column("Status", "string", 0, node_status),
            column("Roles", "string", 0, node_roles),
            AGE,
            column("Version", "string", 0, |v, _| {
                text(&v["status"]["nodeInfo"]["kubeletVersion"])
            }),
            column("Internal-IP", "string", 1, |v, _| {
                node_address(v, "InternalIP")
            }),
            column("External-IP", "string", 1, |v, _| {
                node_address(v, "ExternalIP")
            }),
            column("OS-Image", "string", 1, |v, _| {
                text(&v["status"]["nodeInfo"]["osImage"])
            }),
            column("Kernel-Version", "string", 1, |v, _| {
                text(&v["status"]["nodeInfo"]["kernelVersion"])
            }),
            column("Container-Runtime", "string", 1, |v, _| {
                text(&v["status"]["nodeInfo"]["containerRuntimeVersion"])
            }),
        ],
        "Event" => vec![
            column("Last Seen", "string", 0, |v, now| {
                age(
                    v.get("lastTimestamp")
                        .filter(|t| t.is_string())
                        .or(v.get("eventTime"))
                        .unwrap_or(&Value::Null),
                    now,
                )
            }),
            column("Type", "string", 0, |v, _| text(&v["type"])),
            column("Reason", "string", 0, |v, _| text(&v["reason"])),
            column("Object", "string", 0, |v, _| {
                let object = &v["involvedObject"];
                Value::from(format!(
                    "{}/{}",
                    object["kind"].as_str().unwrap_or_default().to_lowercase(),
                    object["name"].as_str().unwrap_or_default()
                ))
            }),
            column("Message", "string", 0, |v, _| text(&v["message"])),
            column("Name", "string", 1, |v, _| v["metadata"]["name"].clone()),
        ],
        "PersistentVolumeClaim" => vec![
            NAME,
            column("Status", "string", 0, |v, _| text(&v["status"]["phase"])),
            column("Volume", "string", 0, |v, _| text(&v["spec"]["volumeName"])),
            column("Capacity", "string", 0, |v, _| {
                Value::from(v["status"]["capacity"]["storage"].as_str().unwrap_or(""))
            }),
            column("Access Modes", "string", 0, |v, _| {
                joined(strings(&v["status"]["accessModes"]))
            }),
            column("StorageClass", "string", 0, |v, _| {
                text(&v["spec"]["storageClassName"])
            }),
            AGE,
        ],
        "PersistentVolume" => vec![
            NAME,
            column("Capacity", "string", 0, |v, _| {
                text(&v["spec"]["capacity"]["storage"])
            }),
            column("Access Modes", "string", 0, |v, _| {
                joined(strings(&v["spec"]["accessModes"]))
            }),
            column("Reclaim Policy", "string", 0, |v, _| {
                text(&v["spec"]["persistentVolumeReclaimPolicy"])
            }),
            column("Status", "string", 0, |v, _| text(&v["status"]["phase"])),
            column("Claim", "string", 0, |v, _| {
                let claim = &v["spec"]["claimRef"];
                Value::from(claim["name"].as_str().map_or(String::new(), |n| {
                    format!("{}/{n}", claim["namespace"].as_str().unwrap_or_default())
                }))
            }),
            column("StorageClass", "string", 0, |v, _| {
                text(&v["spec"]["storageClassName"])
            }),
            AGE,
        ],
        _ => return None,
    })
}

/// SERVICE (`Local`, or the aggregated server's Service) and AVAILABLE of an APIService.
fn api_service_columns() -> Vec<Column> {
    vec![
        column("Service", "string", 0, |v, _| {
            let service = &v["spec"]["service"];
            Value::from(service["name"].as_str().map_or_else(
                || "Local".to_owned(),
                |n| format!("{}/{n}", service["namespace"].as_str().unwrap_or_default()),
            ))
        }),
        column("Available", "string", 0, |v, _| {
            let available = v["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["type"] == "Available");
            Value::from(match available {
                Some(c) if c["status"] == "True" => "True".to_owned(),
                Some(c) => format!(
                    "{} ({})",
                    c["status"].as_str().unwrap_or("Unknown"),
                    c["reason"].as_str().unwrap_or_default()
                ),
                None => "Unknown".to_owned(),
            })
        }),
    ]
}

pub fn columns(resource: &Resource) -> Vec<Column> {
    let named = |middle: Vec<Column>| {
        let mut columns = vec![NAME];
        columns.extend(middle);
        columns.push(AGE);
        columns
    };
    match resource.group {
        "" => core_columns(resource.kind).unwrap_or_else(|| named(Vec::new())),
        "apps" if resource.kind != "ControllerRevision" => workload(resource),
        "batch" if resource.kind == "Job" => job_columns(),
        "batch" => named(vec![
            column("Schedule", "string", 0, |v, _| text(&v["spec"]["schedule"])),
            column("Suspend", "boolean", 0, |v, _| {
                Value::from(v["spec"]["suspend"].as_bool().unwrap_or(false))
            }),
            column("Active", "integer", 0, |v, _| {
                Value::from(count(&v["status"]["active"]))
            }),
            column("Last Schedule", "string", 0, |v, now| {
                match &v["status"]["lastScheduleTime"] {
                    Value::Null => Value::from(NONE),
                    time => age(time, now),
                }
            }),
        ]),
        "scheduling.k8s.io" => named(vec![
            column("Value", "integer", 0, |v, _| v["value"].clone()),
            column("Global-Default", "boolean", 0, |v, _| {
                Value::from(v["globalDefault"].as_bool().unwrap_or(false))
            }),
        ]),
        "certificates.k8s.io" => csr_columns(),
        "coordination.k8s.io" => named(vec![column("Holder", "string", 0, |v, _| {
            Value::from(v["spec"]["holderIdentity"].as_str().unwrap_or_default())
        })]),
        "discovery.k8s.io" => named(vec![
            column("AddressType", "string", 0, |v, _| text(&v["addressType"])),
            column("Ports", "string", 0, |v, _| {
                joined(
                    v["ports"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|p| p["port"].to_string()),
                )
            }),
            column("Endpoints", "string", 0, |v, _| {
                joined(
                    v["endpoints"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .flat_map(|e| strings(&e["addresses"]).collect::<Vec<_>>()),
                )
            }),
        ]),
        "rbac.authorization.k8s.io" if resource.kind.ends_with("Binding") => {
            named(vec![column("Role", "string", 0, |v, _| {
                Value::from(format!(
                    "{}/{}",
                    v["roleRef"]["kind"].as_str().unwrap_or_default(),
                    v["roleRef"]["name"].as_str().unwrap_or_default()
                ))
            })])
        }
        "apiregistration.k8s.io" => named(api_service_columns()),
        "node.k8s.io" => named(vec![column("Handler", "string", 0, |v, _| {
            text(&v["handler"])
        })]),
        "storage.k8s.io" if resource.kind == "StorageClass" => named(vec![
            column("Provisioner", "string", 0, |v, _| text(&v["provisioner"])),
            column("ReclaimPolicy", "string", 0, |v, _| {
                text(&v["reclaimPolicy"])
            }),
            column("VolumeBindingMode", "string", 0, |v, _| {
                text(&v["volumeBindingMode"])
            }),
            column("AllowVolumeExpansion", "boolean", 0, |v, _| {
                Value::from(v["allowVolumeExpansion"].as_bool().unwrap_or(false))
            }),
        ]),
        _ => named(Vec::new()),
    }
}

/// kubectl's columns for CertificateSigningRequests.
fn csr_columns() -> Vec<Column> {
    vec![
        NAME,
        AGE,
        column("SignerName", "string", 0, |v, _| {
            text(&v["spec"]["signerName"])
        }),
        column("Requestor", "string", 0, |v, _| {
            text(&v["spec"]["username"])
        }),
        column("RequestedDuration", "string", 0, |v, _| {
            v["spec"]["expirationSeconds"].as_i64().map_or_else(
                || Value::from("<none>"),
                |s| Value::from(format!("{}m", s / 60)),
            )
        }),
        column("Condition", "string", 0, |v, _| csr_condition(v)),
    ]
}

/// kubectl's CSR condition: the condition types joined, `Issued` once a certificate is there.
fn csr_condition(csr: &Value) -> Value {
    let mut conditions: Vec<String> = csr["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["type"].as_str().map(str::to_owned))
        .collect();
    if csr["status"]["certificate"]
        .as_str()
        .is_some_and(|c| !c.is_empty())
    {
        conditions.push("Issued".to_owned());
    }
    if conditions.is_empty() {
        return Value::from("Pending");
    }
    Value::from(conditions.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(group: &str, version: &str, plural: &str) -> Vec<(&'static str, u8)> {
        columns(crate::find(group, version, plural).unwrap())
            .iter()
            .map(|c| (c.name, c.priority))
            .collect()
    }

    #[test]
    fn columns_follow_kubectl_order_with_wide_columns_after_age() {
        assert_eq!(
            headers("apps", "v1", "deployments"),
            [
                ("Name", 0),
                ("Ready", 0),
                ("Up-to-date", 0),
                ("Available", 0),
                ("Age", 0),
                ("Containers", 1),
                ("Images", 1),
                ("Selector", 1)
            ]
        );
        let node: Vec<&str> = headers("", "v1", "nodes")
            .into_iter()
            .filter(|(_, p)| *p == 0)
            .map(|(n, _)| n)
            .collect();
        assert_eq!(node, ["Name", "Status", "Roles", "Age", "Version"]);
    }

    #[test]
    fn service_ports_show_node_ports() {
        let service = json!({"spec": {"type": "NodePort", "ports": [
            {"port": 80, "protocol": "TCP", "nodePort": 30080},
            {"port": 53, "protocol": "UDP"}
        ]}});
        assert_eq!(service_ports(&service), "80:30080/TCP,53/UDP");
        assert_eq!(external_ips(&service), NONE);
    }

    #[test]
    fn pod_status_prefers_container_reasons_and_terminating() {
        let waiting = json!({"status": {"phase": "Pending", "containerStatuses": [
            {"state": {"waiting": {"reason": "CrashLoopBackOff"}}}
        ]}});
        assert_eq!(pod_status(&waiting, 0), "CrashLoopBackOff");
        let deleting = json!({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"},
                              "status": {"phase": "Running"}});
        assert_eq!(pod_status(&deleting, 0), "Terminating");
    }
}
