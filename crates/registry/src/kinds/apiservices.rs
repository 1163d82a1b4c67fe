//! APIServices: kubectl's SERVICE (`Local`, or the aggregated server's Service) and AVAILABLE
//! columns.

use serde_json::Value;

use super::{Strategy, named};
use crate::columns::column;

pub static STRATEGY: Strategy = Strategy {
    columns: || {
        named(vec![
            column("Service", "string", 0, |v, _| {
                let service = &v["spec"]["service"];
                Value::from(service["name"].as_str().map_or_else(
                    || "Local".to_owned(),
                    |n| format!("{}/{n}", service["namespace"].as_str().unwrap_or_default()),
                ))
            }),
            column("Available", "string", 0, |v, _| {
                let available = v["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|c| c["type"] == "Available");
                Value::from(match available {
                    Some(c) if c["status"] == "True" => "True".to_owned(),
                    Some(c) => format!(
                        "{} ({})",
                        c["status"].as_str().unwrap_or("Unknown"),
                        c["reason"].as_str().unwrap_or_default()
                    ),
                    None => "Unknown".to_owned(),
                })
            }),
        ])
    },
    ..Strategy::DEFAULT
};
