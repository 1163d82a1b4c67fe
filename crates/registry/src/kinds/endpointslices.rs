//! EndpointSlices: kubectl's ADDRESSTYPE, PORTS and ENDPOINTS columns.

use super::{Strategy, named};
use crate::columns::column;
use crate::printers::{joined, strings, text};

pub static STRATEGY: Strategy = Strategy {
    columns: || {
        named(vec![
            column("AddressType", "string", 0, |v, _| text(&v["addressType"])),
            column("Ports", "string", 0, |v, _| {
                joined(
                    v["ports"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|p| p["port"].to_string()),
                )
            }),
            column("Endpoints", "string", 0, |v, _| {
                joined(
                    v["endpoints"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .flat_map(|e| strings(&e["addresses"]).collect::<Vec<_>>()),
                )
            }),
        ])
    },
    ..Strategy::DEFAULT
};
