//! The layers every request passes before a handler, in Kubernetes' order (outermost first, as
//! `routes` stacks them):
//!
//! 1. `log` — one line per request;
//! 2. `compression` (in `http`) — gzip for large responses;
//! 3. `request_info` — what the request asks for: verb, resource or path;
//! 4. `metrics` (in `crate::metrics`) — counts and times every request, refused ones too;
//! 5. `authentication` — the user of the client certificate or the bearer token (401 for a bad
//!    token, before the body is read);
//! 6. `read_body` — the whole body, so that later refusals reach the client;
//! 7. `impersonation` — the user the caller may act as;
//! 8. `authorization` — 401 without a user, 403 for a request the user may not make.
//!
//! Handlers then take the request info and the authorized user as extractors. Admission is not a
//! layer: it runs inside the write handlers, on the decoded object.

pub mod authentication;
pub mod authorization;
pub mod impersonation;
pub mod log;
pub mod read_body;
pub mod request_info;
