//! Endpoints: kubectl's ENDPOINTS column (every address with every port).

use serde_json::Value;

use super::{Strategy, named};
use crate::columns::column;
use crate::printers::joined;

pub static STRATEGY: Strategy = Strategy {
    columns: || named(vec![column("Endpoints", "string", 0, |v, _| endpoints(v))]),
    ..Strategy::DEFAULT
};

fn endpoints(v: &Value) -> Value {
    let mut out = Vec::new();
    for subset in v["subsets"].as_array().into_iter().flatten() {
        for address in subset["addresses"].as_array().into_iter().flatten() {
            for port in subset["ports"].as_array().into_iter().flatten() {
                out.push(format!(
                    "{}:{}",
                    address["ip"].as_str().unwrap_or_default(),
                    port["port"]
                ));
            }
        }
    }
    joined(out.into_iter())
}
