//! PriorityClasses: kubectl's VALUE and GLOBAL-DEFAULT columns.

use serde_json::Value;

use super::{Strategy, named};
use crate::columns::column;

pub static STRATEGY: Strategy = Strategy {
    columns: || {
        named(vec![
            column("Value", "integer", 0, |v, _| v["value"].clone()),
            column("Global-Default", "boolean", 0, |v, _| {
                Value::from(v["globalDefault"].as_bool().unwrap_or(false))
            }),
        ])
    },
    ..Strategy::DEFAULT
};
