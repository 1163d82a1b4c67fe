//! Secrets: `Opaque` unless typed, `stringData` merged into `data`, keys that are config keys.

use k0rs_api::SelectableField;
use serde_json::{Value, json};

use super::{Strategy, named};
use crate::columns::column;
use crate::defaults::default;
use crate::printers::{count, text};

pub static STRATEGY: Strategy = Strategy {
    defaults: |secret| {
        default(secret, "type", json!("Opaque"));
        merge_string_data(secret);
    },
    validate: crate::validation::config_keys,
    selectable_fields: &[SelectableField::text("type")],
    columns: || {
        named(vec![
            column("Type", "string", 0, |v, _| text(&v["type"])),
            column("Data", "integer", 0, |v, _| Value::from(count(&v["data"]))),
        ])
    },
    ..Strategy::DEFAULT
};

/// A Secret's `stringData` is a write-only convenience: its values join `data`, base64-encoded,
/// overriding what `data` had under the same key.
fn merge_string_data(secret: &mut Value) {
    use base64::Engine as _;
    let Some(Value::Object(string_data)) =
        secret.as_object_mut().and_then(|m| m.remove("stringData"))
    else {
        return;
    };
    if !secret["data"].is_object() {
        secret["data"] = json!({});
    }
    for (key, value) in string_data {
        let text = value.as_str().unwrap_or_default();
        secret["data"][key] = json!(base64::engine::general_purpose::STANDARD.encode(text));
    }
}
