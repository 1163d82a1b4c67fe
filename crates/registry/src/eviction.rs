//! The eviction subresource (`pods/<name>/eviction`): a pod is deleted only if the
//! PodDisruptionBudget selecting it allows a disruption, which the eviction spends (the budget's
//! `disruptionsAllowed` goes down and the pod joins its `disruptedPods`, written with the
//! budget's resourceVersion so that two evictions cannot spend one disruption). Otherwise the
//! answer is 429 with the budget's reason, as `kubectl drain` expects and retries on.

use k0rs_api::{LabelSelector, Status, StatusCause, StatusDetails, StatusReason};
use serde_json::{Value, json};

use crate::deletion::DeleteOptions;
use crate::filter::Filter;
use crate::generic::Registry;
use crate::read_at::ReadAt;
use crate::subresource::selector_string;
use crate::table::Resource;

/// Attempts at spending a disruption when the budget changes meanwhile.
const ATTEMPTS: usize = 5;

fn too_many_requests(message: String, cause: Option<String>) -> Status {
    let mut status = Status::failure(StatusReason::TooManyRequests, message);
    if let Some(cause) = cause {
        status.details = Some(Box::new(StatusDetails {
            causes: vec![StatusCause {
                kind: Some("DisruptionBudget".to_owned()),
                message: cause,
                field: None,
            }],
            ..StatusDetails::default()
        }));
    }
    status
}

fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

impl Registry {
    /// Evicts the pod `name` if its disruption budget allows, then deletes it with `options`.
    pub(crate) async fn evict(
        &self,
        pods: &Resource,
        namespace: Option<&str>,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<(), Status> {
        // `deleteOptions.dryRun` makes the whole eviction a dry run: budget and pod stay as they
        // are (`kubectl drain --dry-run=server` asks this way, not with the query).
        if options.dry_run && !self.is_dry_run() {
            return Box::pin(self.dry_run().evict(pods, namespace, name, options)).await;
        }
        let pod = self.get(pods, namespace, name).await?;
        let terminal = matches!(
            pod["status"]["phase"].as_str(),
            Some("Succeeded" | "Failed")
        );
        if !terminal && pod["metadata"]["deletionTimestamp"].is_null() {
            self.spend_disruption(namespace, &pod, self.is_dry_run())
                .await?;
        }
        self.delete_with(pods, namespace, name, options).await?;
        Ok(())
    }

    /// Spends one disruption of the pod's budget (only checks that one is left, for a dry run).
    async fn spend_disruption(
        &self,
        namespace: Option<&str>,
        pod: &Value,
        dry_run: bool,
    ) -> Result<(), Status> {
        let budgets = crate::resources::POD_DISRUPTION_BUDGETS;
        for _ in 0..ATTEMPTS {
            let list = self
                .list_at(budgets, namespace, &Filter::default(), ReadAt::Latest)
                .await?;
            let mut matching: Vec<Value> = Vec::new();
            for budget in list["items"].as_array().into_iter().flatten() {
                let selector = &budget["spec"]["selector"];
                if selector.is_null() {
                    continue;
                }
                if LabelSelector::parse(&selector_string(selector))?.matches(pod) {
                    matching.push(budget.clone());
                }
            }
            let mut budget = match matching.len() {
                0 => return Ok(()),
                1 => matching.remove(0),
                _ => {
                    return Err(Status::internal(
                        "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
                    ));
                }
            };
            let name = budget["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let generation = budget["metadata"]["generation"].as_i64().unwrap_or(0);
            let observed = budget["status"]["observedGeneration"]
                .as_i64()
                .unwrap_or(-1);
            if observed < generation {
                return Err(too_many_requests(
                    "Cannot evict pod as it would violate the pod's disruption budget.".to_owned(),
                    Some(format!(
                        "The disruption budget {name} is still being processed by the server."
                    )),
                ));
            }
            let healthy = budget["status"]["currentHealthy"].as_i64().unwrap_or(0);
            let desired = budget["status"]["desiredHealthy"].as_i64().unwrap_or(0);
            // An unready pod may go while the budget is met (unhealthyPodEvictionPolicy
            // IfHealthyBudget, the default).
            if !is_ready(pod) && healthy >= desired {
                return Ok(());
            }
            let allowed = budget["status"]["disruptionsAllowed"].as_i64().unwrap_or(0);
            if allowed <= 0 {
                return Err(too_many_requests(
                    "Cannot evict pod as it would violate the pod's disruption budget.".to_owned(),
                    Some(format!(
                        "The disruption budget {name} needs {desired} healthy pods and has {healthy} currently"
                    )),
                ));
            }
            if dry_run {
                return Ok(());
            }
            budget["status"]["disruptionsAllowed"] = json!(allowed - 1);
            let now = k0rs_api::time::now();
            if !budget["status"]["disruptedPods"].is_object() {
                budget["status"]["disruptedPods"] = json!({});
            }
            budget["status"]["disruptedPods"]
                [pod["metadata"]["name"].as_str().unwrap_or_default()] = json!(now);
            match self.update_status(budgets, namespace, &name, budget).await {
                Ok(_) => return Ok(()),
                Err(e) if e.reason == StatusReason::Conflict => {}
                Err(e) => return Err(e),
            }
        }
        Err(too_many_requests(
            "Cannot evict pod as it would violate the pod's disruption budget.".to_owned(),
            None,
        ))
    }
}
