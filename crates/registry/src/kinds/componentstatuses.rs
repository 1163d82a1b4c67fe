//! ComponentStatuses (deprecated since Kubernetes 1.19, still served by 1.28): never stored, the
//! API server answers them from its probes of the control plane; kubectl's columns.

use serde_json::Value;

use super::Strategy;
use crate::columns::{Column, NAME, column};

pub static STRATEGY: Strategy = Strategy {
    columns,
    ..Strategy::DEFAULT
};

/// The `Healthy` condition, as kubectl shows it.
fn healthy(status: &Value) -> Option<&Value> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Healthy")
}

fn columns() -> Vec<Column> {
    vec![
        NAME,
        column("Status", "string", 0, |v, _| {
            Value::from(match healthy(v).map(|c| &c["status"]) {
                Some(s) if s == "True" => "Healthy",
                Some(_) => "Unhealthy",
                None => "Unknown",
            })
        }),
        column("Message", "string", 0, |v, _| {
            healthy(v).map_or_else(|| Value::from(""), |c| c["message"].clone())
        }),
        column("Error", "string", 0, |v, _| {
            healthy(v).map_or_else(|| Value::from(""), |c| c["error"].clone())
        }),
    ]
}
