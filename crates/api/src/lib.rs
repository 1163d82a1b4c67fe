//! Kubernetes API machinery, independent of HTTP and storage.
//!
//! [`Status`], the `metav1.Status` body every failed request answers with, and its reasons and
//! codes; label and field selectors; patches (JSON, merge, strategic merge, server-side apply with
//! managedFields in `fields`); quantities; the OpenAPI schemas of the built-in kinds; protobuf
//! framing; the checks that a stored object decodes as its kind (`typecheck`).

mod field_selector;
pub mod fields;
pub mod openapi;
pub mod patch;
pub mod protobuf;
pub mod quantity;
pub mod quota;
mod selector;
mod status;
pub mod time;
pub mod typecheck;
pub mod worker_config;

pub use field_selector::{FieldSelector, SelectableField};
pub use selector::LabelSelector;
pub use status::{Status, StatusCause, StatusDetails, StatusReason};
