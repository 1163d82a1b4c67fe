//! The etcd a controller runs when `spec.storage.type` is `etcd` without an `externalCluster`:
//! Debian's `etcd` as a supervised child of k0rs, with k0s's file layout ([`Layout`]: data in
//! `<data-dir>/etcd`, certificates under `<data-dir>/pki/etcd/`), peer and client TLS with
//! client-certificate authentication, and its command line ([`command`]). [`Members`] talks to the
//! cluster as a client with the API server's etcd client certificate: the member list
//! (`k0rs etcd member-list`), adding a joining controller (the join API) without ever leaving two
//! entries for one controller, and removing one (`k0rs etcd leave`). [`join`] holds the join
//! API's messages, as k0s sends them.

pub mod command;
pub mod join;
mod layout;
mod members;
pub mod release;
mod request;

pub use layout::{CLIENT_PORT, Layout, PEER_PORT};
pub use members::{AddError, Member, Members};
