//! Validating- and MutatingWebhookConfigurations: Kubernetes' defaults of each webhook, what
//! admissionregistration.k8s.io/v1 requires of it, and kubectl's WEBHOOKS column.

use serde_json::{Value, json};

use super::{Strategy, named};
use crate::columns::column;
use crate::validation::Errors;

/// The default timeout of a webhook call, in seconds.
const DEFAULT_TIMEOUT: u64 = 10;

pub static MUTATING: Strategy = Strategy {
    defaults: |object| default_webhooks(object, true),
    validate,
    columns,
    ..Strategy::DEFAULT
};

pub static VALIDATING: Strategy = Strategy {
    defaults: |object| default_webhooks(object, false),
    validate,
    columns,
    ..Strategy::DEFAULT
};

fn columns() -> Vec<crate::columns::Column> {
    named(vec![column("Webhooks", "integer", 0, |v, _| {
        Value::from(v["webhooks"].as_array().map_or(0, Vec::len))
    })])
}

/// Fills in what Kubernetes 1.28 defaults in each webhook.
fn default_webhooks(configuration: &mut Value, mutating: bool) {
    let Some(webhooks) = configuration["webhooks"].as_array_mut() else {
        return;
    };
    for webhook in webhooks.iter_mut().filter_map(Value::as_object_mut) {
        let mut set = |key: &str, value: Value| {
            webhook.entry(key).or_insert(value);
        };
        set("failurePolicy", "Fail".into());
        set("matchPolicy", "Equivalent".into());
        set("namespaceSelector", json!({}));
        set("objectSelector", json!({}));
        set("timeoutSeconds", DEFAULT_TIMEOUT.into());
        if mutating {
            set("reinvocationPolicy", "Never".into());
        }
        if let Some(service) = webhook
            .get_mut("clientConfig")
            .and_then(|c| c.get_mut("service"))
            .and_then(Value::as_object_mut)
        {
            service.entry("port").or_insert(443.into());
        }
        if let Some(rules) = webhook.get_mut("rules").and_then(Value::as_array_mut) {
            for rule in rules.iter_mut().filter_map(Value::as_object_mut) {
                rule.entry("scope").or_insert("*".into());
            }
        }
    }
}

/// What v1 requires of each webhook: a name, `sideEffects` None or NoneOnDryRun,
/// `admissionReviewVersions`, exactly one of `clientConfig.url` and `clientConfig.service`.
fn validate(configuration: &Value, errors: &mut Errors) {
    let webhooks = configuration["webhooks"].as_array().into_iter().flatten();
    for (i, webhook) in webhooks.enumerate() {
        let at = |field: &str| format!("webhooks[{i}].{field}");
        if webhook["name"].as_str().is_none_or(str::is_empty) {
            errors.required(&at("name"));
        }
        match &webhook["sideEffects"] {
            Value::Null => errors.required(&at("sideEffects")),
            value if value != "None" && value != "NoneOnDryRun" => {
                errors.unsupported(&at("sideEffects"), value, &["None", "NoneOnDryRun"]);
            }
            _ => {}
        }
        if webhook["admissionReviewVersions"]
            .as_array()
            .is_none_or(Vec::is_empty)
        {
            errors.required(&at("admissionReviewVersions"));
        }
        let client = &webhook["clientConfig"];
        if client["url"].is_string() == client["service"].is_object() {
            errors.required(&at("clientConfig"));
        }
        if let Some(timeout) = webhook["timeoutSeconds"].as_i64()
            && !(1..=30).contains(&timeout)
        {
            errors.invalid(
                &at("timeoutSeconds"),
                &webhook["timeoutSeconds"],
                "the timeout value must be between 1 and 30 seconds",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_only_what_is_missing() {
        let mut config = json!({"webhooks": [{"name": "a", "failurePolicy": "Ignore",
            "clientConfig": {"service": {"namespace": "n", "name": "s"}},
            "rules": [{"operations": ["CREATE"]}]}]});
        default_webhooks(&mut config, true);
        let hook = &config["webhooks"][0];
        assert_eq!(hook["failurePolicy"], "Ignore");
        assert_eq!(hook["matchPolicy"], "Equivalent");
        assert_eq!(hook["timeoutSeconds"], 10);
        assert_eq!(hook["reinvocationPolicy"], "Never");
        assert_eq!(hook["clientConfig"]["service"]["port"], 443);
        assert_eq!(hook["rules"][0]["scope"], "*");
    }
}
