//! The resource quota controller: each ResourceQuota's `status.hard` (its spec) and
//! `status.used`, counted from the objects of its namespace with the same rules the quota
//! admission applies (`k0rs_api::quota`), looked at again every 10 s and when the quota changes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k0rs_api::quota::{self, Kind};
use k0rs_runtime::corev1::is_finished_phase;
use k0rs_runtime::run_controller;
use k8s_openapi::api::core::v1::ResourceQuota;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{DynamicObject, ListParams, PostParams};
use kube::discovery::{ApiResource, Discovery};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt as _};

const RESYNC: Duration = Duration::from_secs(10);

struct Context {
    client: Client,
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error(#[from] kube::Error);

pub async fn run(client: Client) {
    let context = Arc::new(Context {
        client: client.clone(),
    });
    let controller = Controller::new(
        Api::<ResourceQuota>::all(client),
        watcher::Config::default(),
    );
    run_controller("resourcequota-controller", controller, reconcile, context).await;
}

/// A quantity as Kubernetes writes a sum: a whole number, else in thousandths (`1500m`).
#[allow(clippy::cast_possible_truncation)] // quota sums are far below 2^53
fn quantity_of(value: f64) -> Quantity {
    if value.fract().abs() < 1e-9 {
        Quantity(format!("{}", value.round() as i64))
    } else {
        Quantity(format!("{}m", (value * 1000.0).round() as i64))
    }
}

/// The API resource for (group, plural), found by discovery.
async fn resource(client: &Client, group: &str, plural: &str) -> Option<ApiResource> {
    if group.is_empty() {
        let discovery = Discovery::new(client.clone())
            .filter(&[""])
            .run()
            .await
            .ok()?;
        return discovery
            .groups()
            .flat_map(kube::discovery::ApiGroup::recommended_resources)
            .find(|(r, _)| r.plural == plural)
            .map(|(r, _)| r);
    }
    let group = kube::discovery::group(client, group).await.ok()?;
    group
        .recommended_resources()
        .into_iter()
        .find(|(r, _)| r.plural == plural)
        .map(|(r, _)| r)
}

async fn reconcile(rq: Arc<ResourceQuota>, context: Arc<Context>) -> Result<Action, Error> {
    let namespace = rq.namespace().unwrap_or_default();
    let hard = rq
        .spec
        .as_ref()
        .and_then(|s| s.hard.clone())
        .unwrap_or_default();
    // The objects of each counted resource, listed once for all the keys that count them.
    let mut listed: BTreeMap<(String, String), (ApiResource, Vec<serde_json::Value>)> =
        BTreeMap::new();
    let mut used: BTreeMap<String, Quantity> = BTreeMap::new();
    for key in hard.keys() {
        let Some((group, plural)) = quota::counted_resource(key) else {
            continue;
        };
        let id = (group.to_owned(), plural.to_owned());
        if !listed.contains_key(&id) {
            let Some(found) = resource(&context.client, group, plural).await else {
                continue;
            };
            let api =
                Api::<DynamicObject>::namespaced_with(context.client.clone(), &namespace, &found);
            let items = api.list(&ListParams::default()).await?.items;
            let values = items
                .iter()
                .filter_map(|o| serde_json::to_value(o).ok())
                .collect();
            listed.insert(id.clone(), (found, values));
        }
        let (found, objects) = &listed[&id];
        let kind = Kind {
            group: &found.group,
            kind: &found.kind,
            plural: &found.plural,
        };
        let sum: f64 = objects
            .iter()
            .filter(|o| !o["status"]["phase"].as_str().is_some_and(is_finished_phase))
            .map(|o| quota::usage(key, kind, o))
            .sum();
        used.insert(key.clone(), quantity_of(sum));
    }
    let status = rq.status.clone().unwrap_or_default();
    if status.hard.as_ref() != Some(&hard) || status.used.as_ref() != Some(&used) {
        // A merge patch would keep keys removed from the quota: the status is replaced.
        let mut updated = (*rq).clone();
        updated.status = Some(k8s_openapi::api::core::v1::ResourceQuotaStatus {
            hard: Some(hard),
            used: Some(used),
        });
        updated.metadata.managed_fields = None;
        Api::<ResourceQuota>::namespaced(context.client.clone(), &namespace)
            .replace_status(
                &rq.name_any(),
                &PostParams::default(),
                serde_json::to_vec(&updated).unwrap_or_default(),
            )
            .await?;
    }
    Ok(Action::requeue(RESYNC))
}
