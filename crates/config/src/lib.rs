//! The cluster configuration of k0rs: k0s's `ClusterConfig` (`k0s.k0sproject.io/v1beta1`).
//!
//! One typed model ([`ClusterConfig`]) with k0s's field names and defaults (kept in [`defaults`]),
//! a strict YAML reader that names the field path of every problem (`spec.network.podCIDR: …`),
//! and the semantic validation `k0rs config validate` runs. Configs written for k0s load unchanged;
//! what k0rs does not apply of them is listed by [`ClusterConfig::unapplied`] (see [`unapplied`]).

mod check;
mod cidr;
pub mod defaults;
mod error;
mod field;
mod load;
mod model;
mod nullable;
pub mod unapplied;

pub use error::ConfigError;
pub use field::FieldError;
pub use model::*;
pub use unapplied::{Severity, Unapplied, Unsupported};
