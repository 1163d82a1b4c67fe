//! Events: core/v1 Events expire an hour after their last write; events.k8s.io/v1 Events are the
//! same objects, stored as core/v1 ones with their fields renamed.

use k0rs_api::SelectableField;
use serde_json::{Map, Value};

use super::{Conversion, Strategy};
use crate::columns::{Column, age, column};
use crate::printers::text;

pub static STRATEGY: Strategy = Strategy {
    selectable_fields: &[
        SelectableField::text("involvedObject.kind"),
        SelectableField::text("involvedObject.namespace"),
        SelectableField::text("involvedObject.name"),
        SelectableField::text("involvedObject.uid"),
        SelectableField::text("involvedObject.apiVersion"),
        SelectableField::text("involvedObject.resourceVersion"),
        SelectableField::text("involvedObject.fieldPath"),
        SelectableField::text("reason"),
        SelectableField::text("reportingComponent"),
        // The source component, else the reporting controller (events.k8s.io writers set only
        // that one).
        SelectableField::read("source", &["source.component", "reportingComponent"], ""),
        SelectableField::text("type"),
    ],
    columns,
    expires: true,
    ..Strategy::DEFAULT
};

/// events.k8s.io/v1 Events, stored as core/v1 Events.
pub static EVENTS_API: Strategy = Strategy {
    // Its names for the stored Event's fields (the filter reads the stored form).
    selectable_fields: &[
        SelectableField::read("regarding.kind", &["involvedObject.kind"], ""),
        SelectableField::read("regarding.namespace", &["involvedObject.namespace"], ""),
        SelectableField::read("regarding.name", &["involvedObject.name"], ""),
        SelectableField::read("regarding.uid", &["involvedObject.uid"], ""),
        SelectableField::read("regarding.apiVersion", &["involvedObject.apiVersion"], ""),
        SelectableField::read(
            "regarding.resourceVersion",
            &["involvedObject.resourceVersion"],
            "",
        ),
        SelectableField::read("regarding.fieldPath", &["involvedObject.fieldPath"], ""),
        SelectableField::read("reportingController", &["reportingComponent"], ""),
        SelectableField::text("reason"),
        SelectableField::text("type"),
    ],
    conversion: Some(Conversion {
        storage: || crate::resources::EVENTS,
        to_storage: |event| rename(event, FIELDS.into_iter()),
        from_storage: |event| rename(event, FIELDS.into_iter().map(|(a, b)| (b, a))),
    }),
    ..Strategy::DEFAULT
};

fn columns() -> Vec<Column> {
    vec![
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
    ]
}

/// events.k8s.io/v1 field ↔ core/v1 field.
const FIELDS: [(&str, &str); 8] = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("reportingInstance", "reportingInstance"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

fn rename(object: &mut Value, pairs: impl Iterator<Item = (&'static str, &'static str)>) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    let mut moved = Map::new();
    for (from, to) in pairs {
        if let Some(value) = map.remove(from) {
            moved.insert(to.to_owned(), value);
        }
    }
    map.extend(moved);
}
