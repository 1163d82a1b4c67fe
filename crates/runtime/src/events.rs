//! Events as client-go's recorder writes them: core/v1 Events, which `kubectl describe` and
//! `kubectl get events` show. The first of an (object, type, reason, message) is created; the same
//! one again within ten minutes raises the count and lastTimestamp of the first instead, so a
//! pod that keeps failing the same way has one event that counts, not one per try.
//!
//! Recording never fails the caller: an event that cannot be written is logged and dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::chrono::Utc;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

/// How long a written event is raised instead of written again (client-go's correlator: 10 min).
const AGGREGATE_FOR: Duration = Duration::from_mins(10);
/// Events remembered for aggregation; past this, the expired ones are forgotten, and if all are
/// recent, all are (the next of each is then written anew, which only costs an object).
const REMEMBERED: usize = 4_096;

/// Normal or Warning, as `kubectl get events` shows in its TYPE column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    Normal,
    Warning,
}

impl Type {
    fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "Normal",
            Self::Warning => "Warning",
        }
    }
}

#[derive(PartialEq, Eq, Hash)]
struct Key {
    object: String,
    type_: Type,
    reason: String,
    message: String,
}

struct Written {
    namespace: String,
    name: String,
    count: i32,
    at: Instant,
}

/// What was written of one key. Records of the same key take turns on it, so that one arriving
/// while the first is still being created raises that one instead of creating a second.
type Slot = Arc<tokio::sync::Mutex<Option<Written>>>;

/// Writes the events of one component (`kubelet` on node `host`, `default-scheduler`, …).
#[derive(Clone)]
pub struct Recorder {
    client: Client,
    component: &'static str,
    host: Option<String>,
    written: Arc<Mutex<HashMap<Key, Slot>>>,
}

impl Recorder {
    pub fn new(client: Client, component: &'static str, host: Option<String>) -> Self {
        Self {
            client,
            component,
            host,
            written: Arc::default(),
        }
    }

    /// Records that `reason` happened to `object`; see the module's comment for repeats.
    pub async fn record(&self, object: &ObjectReference, type_: Type, reason: &str, message: &str) {
        let key = Key {
            object: object
                .uid
                .clone()
                .or_else(|| object.name.clone())
                .unwrap_or_default(),
            type_,
            reason: reason.to_owned(),
            message: message.to_owned(),
        };
        let slot = self.slot(key);
        let mut written = slot.lock().await;
        let now = Time(Utc::now());
        if let Some(last) = written
            .as_mut()
            .filter(|last| last.at.elapsed() <= AGGREGATE_FOR)
        {
            last.count += 1;
            last.at = Instant::now();
            let patch = json!({"count": last.count, "lastTimestamp": now});
            let raised = Api::<Event>::namespaced(self.client.clone(), &last.namespace)
                .patch(&last.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await;
            match raised {
                Ok(_) => return,
                // Expired (events live an hour) or deleted: write it anew.
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(error) => {
                    tracing::debug!(component = self.component, %error, reason, "event not raised");
                    return;
                }
            }
        }
        let namespace = object
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".to_owned());
        let event = Event {
            metadata: ObjectMeta {
                generate_name: Some(format!("{}.", object.name.as_deref().unwrap_or("unknown"))),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            involved_object: object.clone(),
            reason: Some(reason.to_owned()),
            message: Some(message.to_owned()),
            type_: Some(type_.as_str().to_owned()),
            first_timestamp: Some(now.clone()),
            last_timestamp: Some(now),
            count: Some(1),
            reporting_component: Some(self.component.to_owned()),
            reporting_instance: self.host.clone(),
            source: Some(EventSource {
                component: Some(self.component.to_owned()),
                host: self.host.clone(),
            }),
            ..Event::default()
        };
        *written = match Api::<Event>::namespaced(self.client.clone(), &namespace)
            .create(&PostParams::default(), &event)
            .await
        {
            Ok(created) => created.metadata.name.map(|name| Written {
                namespace,
                name,
                count: 1,
                at: Instant::now(),
            }),
            Err(error) => {
                tracing::debug!(component = self.component, %error, reason, "event not written");
                None
            }
        };
    }

    /// The slot of `key`, made if new. Past [`REMEMBERED`] keys, those idle and expired are
    /// forgotten, and if that is not enough, all idle ones are.
    fn slot(&self, key: Key) -> Slot {
        let mut slots = self.written.lock().expect("events");
        if slots.len() >= REMEMBERED {
            slots.retain(|_, slot| {
                slot.try_lock().map_or(true, |w| {
                    w.as_ref().is_some_and(|w| w.at.elapsed() <= AGGREGATE_FOR)
                })
            });
            if slots.len() >= REMEMBERED {
                slots.retain(|_, slot| slot.try_lock().is_err());
            }
        }
        slots.entry(key).or_default().clone()
    }
}
