//! TaintNodesByCondition: a new Node is not ready until its kubelet says so, so it starts with
//! the `node.kubernetes.io/not-ready:NoSchedule` taint (the node lifecycle controller manages it
//! from then on).

use k0rs_registry::resources;
use serde_json::Value;

use super::{Admitted, Operation, Plugin, Request};

const KEY: &str = "node.kubernetes.io/not-ready";

pub struct TaintNodesByCondition;

impl Plugin for TaintNodesByCondition {
    fn name(&self) -> &'static str {
        "TaintNodesByCondition"
    }

    fn handles(&self, request: &Request<'_>) -> bool {
        request.is(resources::NODES) && request.operation == Operation::Create
    }

    fn admit<'a>(&'a self, _request: &'a Request<'a>, node: &'a mut Value) -> Admitted<'a> {
        taint_not_ready(node);
        Box::pin(async { Ok(()) })
    }
}

fn taint_not_ready(node: &mut Value) {
    if !node["spec"]["taints"].is_array() {
        node["spec"]["taints"] = serde_json::json!([]);
    }
    let taints = node["spec"]["taints"]
        .as_array_mut()
        .expect("made an array");
    if !taints
        .iter()
        .any(|t| t["key"] == KEY && t["effect"] == "NoSchedule")
    {
        taints.push(serde_json::json!({ "key": KEY, "effect": "NoSchedule" }));
    }
}
