//! Kubernetes API machinery, independent of HTTP and storage.
//!
//! For now: [`Status`], the `metav1.Status` body every failed request answers with, and its
//! reasons and codes. Object metadata, selectors, resourceVersion handling and patches join it as
//! the API server grows.

pub mod fields;
pub mod openapi;
pub mod patch;
pub mod protobuf;
pub mod quantity;
pub mod quota;
mod selector;
mod status;
pub mod time;
pub mod worker_config;

pub use selector::{FieldSelector, LabelSelector};
pub use status::{Status, StatusCause, StatusDetails, StatusReason};
