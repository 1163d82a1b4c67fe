//! CertificateSigningRequests: selectable by signer; kubectl's columns.

use k0rs_api::SelectableField;
use serde_json::Value;

use super::Strategy;
use crate::columns::{AGE, Column, NAME, column};
use crate::printers::text;

pub static STRATEGY: Strategy = Strategy {
    selectable_fields: &[SelectableField::text("spec.signerName")],
    columns,
    ..Strategy::DEFAULT
};

fn columns() -> Vec<Column> {
    vec![
        NAME,
        AGE,
        column("SignerName", "string", 0, |v, _| {
            text(&v["spec"]["signerName"])
        }),
        column("Requestor", "string", 0, |v, _| {
            text(&v["spec"]["username"])
        }),
        column("RequestedDuration", "string", 0, |v, _| {
            v["spec"]["expirationSeconds"].as_i64().map_or_else(
                || Value::from("<none>"),
                |s| Value::from(format!("{}m", s / 60)),
            )
        }),
        column("Condition", "string", 0, |v, _| condition(v)),
    ]
}

/// kubectl's CSR condition: the condition types joined, `Issued` once a certificate is there.
fn condition(csr: &Value) -> Value {
    let mut conditions: Vec<String> = csr["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["type"].as_str().map(str::to_owned))
        .collect();
    if csr["status"]["certificate"]
        .as_str()
        .is_some_and(|c| !c.is_empty())
    {
        conditions.push("Issued".to_owned());
    }
    if conditions.is_empty() {
        return Value::from("Pending");
    }
    Value::from(conditions.join(","))
}
