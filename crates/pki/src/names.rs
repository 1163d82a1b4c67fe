//! Who a certificate names: subject, subject alternative names and intended usage.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

/// A subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum San {
    Dns(String),
    Ip(IpAddr),
}

impl San {
    /// An IP address if `s` parses as one, a DNS name otherwise (Kubernetes' `--tls-sans` rule).
    pub fn parse(s: &str) -> Self {
        s.parse().map_or_else(|_| San::Dns(s.to_owned()), San::Ip)
    }
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Dns(name) => write!(f, "DNS:{name}"),
            San::Ip(ip) => write!(f, "IP:{ip}"),
        }
    }
}

/// The subject of a certificate: for client certificates Kubernetes reads the common name as the user
/// name and the organizations as the groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub common_name: String,
    pub organizations: Vec<String>,
}

impl Subject {
    pub fn new(common_name: impl Into<String>) -> Self {
        Self {
            common_name: common_name.into(),
            organizations: Vec::new(),
        }
    }

    #[must_use]
    pub fn with_organizations(mut self, organizations: &[impl AsRef<str>]) -> Self {
        self.organizations = organizations
            .iter()
            .map(|o| o.as_ref().to_owned())
            .collect();
        self
    }
}

/// What a leaf certificate may be used for (its extended key usage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    Server,
    Client,
    ServerAndClient,
}

/// A leaf certificate to keep issued under an authority: its file stem relative to the PKI directory
/// (`server` → `server.crt` + `server.key`), subject, usage and required SANs.
#[derive(Debug, Clone)]
pub struct LeafSpec {
    pub file: String,
    pub subject: Subject,
    pub usage: Usage,
    pub sans: BTreeSet<San>,
}
