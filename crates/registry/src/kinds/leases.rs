//! Leases: kubectl's HOLDER column.

use serde_json::Value;

use super::{Strategy, named};
use crate::columns::column;

pub static STRATEGY: Strategy = Strategy {
    columns: || {
        named(vec![column("Holder", "string", 0, |v, _| {
            Value::from(v["spec"]["holderIdentity"].as_str().unwrap_or_default())
        })])
    },
    ..Strategy::DEFAULT
};
