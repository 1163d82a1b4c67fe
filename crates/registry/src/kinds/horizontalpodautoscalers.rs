//! HorizontalPodAutoscalers: autoscaling/v1 ones are stored as autoscaling/v2 ones, their CPU
//! target and current utilization as v2 metrics.

use serde_json::{Value, json};

use super::{Conversion, Strategy};

/// autoscaling/v1 HorizontalPodAutoscalers, stored as autoscaling/v2 ones.
pub static V1: Strategy = Strategy {
    conversion: Some(Conversion {
        storage: || crate::resources::HORIZONTAL_POD_AUTOSCALERS,
        to_storage: v1_to_v2,
        from_storage: v2_to_v1,
    }),
    ..Strategy::DEFAULT
};

fn cpu_metric(value: &Value, section: &str, field: &str) -> Value {
    json!([{ "type": "Resource", "resource": { "name": "cpu", section: { field: value } } }])
}

fn v1_to_v2(object: &mut Value) {
    if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut)
        && let Some(target) = spec.remove("targetCPUUtilizationPercentage")
    {
        let mut metric = cpu_metric(&target, "target", "averageUtilization");
        metric[0]["resource"]["target"]["type"] = json!("Utilization");
        spec.insert("metrics".into(), metric);
    }
    if let Some(status) = object.get_mut("status").and_then(Value::as_object_mut)
        && let Some(current) = status.remove("currentCPUUtilizationPercentage")
    {
        status.insert(
            "currentMetrics".into(),
            cpu_metric(&current, "current", "averageUtilization"),
        );
    }
}

/// The CPU utilization of a v2 metric list (`target` or `current`).
fn cpu_utilization(metrics: &Value, section: &str) -> Option<Value> {
    metrics
        .as_array()?
        .iter()
        .find(|m| m["type"] == "Resource" && m["resource"]["name"] == "cpu")
        .map(|m| m["resource"][section]["averageUtilization"].clone())
        .filter(|v| !v.is_null())
}

fn v2_to_v1(object: &mut Value) {
    if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut)
        && let Some(metrics) = spec.remove("metrics")
        && let Some(cpu) = cpu_utilization(&metrics, "target")
    {
        spec.insert("targetCPUUtilizationPercentage".into(), cpu);
    }
    if let Some(status) = object.get_mut("status").and_then(Value::as_object_mut) {
        if let Some(metrics) = status.remove("currentMetrics")
            && let Some(cpu) = cpu_utilization(&metrics, "current")
        {
            status.insert("currentCPUUtilizationPercentage".into(), cpu);
        }
        status.remove("conditions");
    }
}
