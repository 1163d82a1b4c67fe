//! RoleBindings and ClusterRoleBindings: kubectl's ROLE column.

use serde_json::Value;

use super::{Strategy, named};
use crate::columns::column;

pub static STRATEGY: Strategy = Strategy {
    columns: || {
        named(vec![column("Role", "string", 0, |v, _| {
            Value::from(format!(
                "{}/{}",
                v["roleRef"]["kind"].as_str().unwrap_or_default(),
                v["roleRef"]["name"].as_str().unwrap_or_default()
            ))
        })])
    },
    ..Strategy::DEFAULT
};
