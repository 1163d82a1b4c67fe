//! HTTP as the Kubernetes API speaks it, knowing nothing of who asks or of what is stored:
//! request bodies (the 3 MiB limit, decoding, the drain before an early refusal), content
//! negotiation, query parameters, `Status` responses and response compression. Handlers and
//! layers use these; nothing here uses them.

pub mod body;
pub mod compression;
pub mod drain;
pub mod negotiate;
pub mod query;
pub mod status;

pub use status::{StatusError, encoded, encoded_bytes, json_response, status_response};
