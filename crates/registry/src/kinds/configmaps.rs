//! ConfigMaps: keys that are config keys; kubectl's DATA column.

use serde_json::Value;

use super::{Strategy, named};
use crate::columns::column;
use crate::printers::count;

pub static STRATEGY: Strategy = Strategy {
    validate: crate::validation::config_keys,
    columns: || {
        named(vec![column("Data", "integer", 0, |v, _| {
            Value::from(count(&v["data"]) + count(&v["binaryData"]))
        })])
    },
    ..Strategy::DEFAULT
};
