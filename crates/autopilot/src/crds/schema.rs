//! The pieces of the autopilot schemas: each shape once (a target, a platform map, a target's
//! status), used wherever k0s's types use it.

use serde_json::{Map, Value, json};

fn string() -> Value {
    json!({"type": "string"})
}

fn object(properties: &[(&str, Value)], required: &[&str]) -> Value {
    let properties: Map<String, Value> = properties
        .iter()
        .map(|(name, schema)| ((*name).to_owned(), schema.clone()))
        .collect();
    let mut object = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        object["required"] = json!(required);
    }
    object
}

fn array(items: &Value) -> Value {
    json!({"type": "array", "items": items})
}

/// The properties of a top-level object: `apiVersion`, `kind`, `metadata`, and these.
pub fn object_properties<const N: usize>(fields: [(&str, Value); N]) -> Value {
    let mut properties = json!({
        "apiVersion": string(),
        "kind": string(),
        "metadata": {"type": "object"},
    });
    for (name, schema) in fields {
        properties[name] = schema;
    }
    properties
}

/// Which nodes, and how many at once (k0s's default: one).
fn target() -> Value {
    let selector = object(&[("labels", string()), ("fields", string())], &[]);
    let static_nodes = object(&[("nodes", array(&string()))], &[]);
    let discovery = object(&[("static", static_nodes), ("selector", selector)], &[]);
    let mut concurrent = json!({"type": "integer", "default": 1, "minimum": 0});
    concurrent["format"] = json!("int32");
    let mut limits = object(&[("concurrent", concurrent)], &[]);
    limits["default"] = json!({"concurrent": 1});
    object(
        &[("discovery", discovery), ("limits", limits)],
        &["discovery"],
    )
}

fn targets() -> Value {
    object(&[("controllers", target()), ("workers", target())], &[])
}

/// Platform → URL, SHA-256 and (k0rs) signature URL.
fn platforms() -> Value {
    let resource = object(
        &[
            ("url", string()),
            ("sha256", string()),
            ("signature", string()),
        ],
        &["url"],
    );
    json!({"type": "object", "additionalProperties": resource})
}

pub fn plan_spec() -> Value {
    let k0s_update = object(
        &[
            ("version", string()),
            ("forceupdate", json!({"type": "boolean"})),
            ("platforms", platforms()),
            ("targets", targets()),
        ],
        &["version", "platforms", "targets"],
    );
    let airgap_update = object(
        &[
            ("version", string()),
            ("platforms", platforms()),
            ("workers", target()),
        ],
        &["version", "platforms", "workers"],
    );
    let command = object(
        &[("k0supdate", k0s_update), ("airgapupdate", airgap_update)],
        &[],
    );
    object(
        &[
            ("id", string()),
            ("timestamp", string()),
            ("commands", array(&command)),
        ],
        &["id", "timestamp", "commands"],
    )
}

pub fn plan_status() -> Value {
    let target_status = object(
        &[
            ("name", string()),
            ("state", string()),
            (
                "lastUpdatedTimestamp",
                json!({"type": "string", "format": "date-time"}),
            ),
            ("description", string()),
        ],
        &["name", "state", "lastUpdatedTimestamp"],
    );
    let node_list = array(&target_status);
    let command_status = object(
        &[
            ("id", json!({"type": "integer"})),
            ("state", string()),
            ("description", string()),
            (
                "k0supdate",
                object(
                    &[
                        ("controllers", node_list.clone()),
                        ("workers", node_list.clone()),
                    ],
                    &[],
                ),
            ),
            ("airgapupdate", object(&[("workers", node_list)], &[])),
        ],
        &["id", "state"],
    );
    object(
        &[("state", string()), ("commands", array(&command_status))],
        &["state"],
    )
}

pub fn control_node_status() -> Value {
    let address = object(
        &[("type", string()), ("address", string())],
        &["type", "address"],
    );
    object(
        &[("addresses", array(&address)), ("k0sVersion", string())],
        &[],
    )
}

pub fn update_spec() -> Value {
    let template_command = object(
        &[
            (
                "k0supdate",
                object(
                    &[
                        ("forceupdate", json!({"type": "boolean"})),
                        ("targets", targets()),
                    ],
                    &["targets"],
                ),
            ),
            (
                "airgapupdate",
                object(&[("workers", target())], &["workers"]),
            ),
        ],
        &[],
    );
    let periodic = object(
        &[
            ("days", array(&string())),
            ("startTime", string()),
            ("length", string()),
        ],
        &[],
    );
    let strategy = object(
        &[
            (
                "type",
                json!({"type": "string", "enum": ["periodic", "cron"]}),
            ),
            ("cron", string()),
            ("periodic", periodic),
        ],
        &[],
    );
    let mut channel = string();
    channel["default"] = json!("stable");
    let mut server = string();
    server["default"] = json!("https://updates.k0sproject.io");
    object(
        &[
            ("channel", channel),
            ("updateServer", server),
            ("upgradeStrategy", strategy),
            (
                "planSpec",
                object(&[("commands", array(&template_command))], &["commands"]),
            ),
        ],
        &[],
    )
}
