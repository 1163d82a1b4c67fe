//! ServiceAccounts: kubectl's SECRETS column.

use serde_json::Value;

use super::{Strategy, named};
use crate::columns::column;
use crate::printers::count;

pub static STRATEGY: Strategy = Strategy {
    columns: || {
        named(vec![column("Secrets", "integer", 0, |v, _| {
            Value::from(count(&v["secrets"]))
        })])
    },
    ..Strategy::DEFAULT
};
