//! The API server's pipeline in process: the router of a real `App` on an embedded store, sent
//! requests directly (no process, no TCP, no TLS). Each request names its caller the way a
//! verified client certificate does, so every layer — request info, authentication,
//! impersonation, authorization — and the admission chain run as they do behind the listener.

mod admission;
mod authorization;
mod endpoints;
mod harness;
mod metrics;
mod resources;
