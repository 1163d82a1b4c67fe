//! Reading a ClusterConfig from YAML: strict (unknown fields are errors), with every error naming
//! its field path, then defaulted and validated.

use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::error::{ConfigError, source_name};
use crate::field::{FieldError, FieldErrors};
use crate::model::ClusterConfig;

impl ClusterConfig {
    /// Parses and validates a config. `source` names where the text came from, for messages.
    pub fn from_yaml(text: &str, source: &str) -> Result<Self, ConfigError> {
        let config = parse(text, source)?;
        config.validate().map_err(|errors| ConfigError::Invalid {
            source_name: source.to_owned(),
            errors,
        })?;
        Ok(config)
    }

    /// Reads a config from a file, or from standard input for `-`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let (text, source) = if path == Path::new("-") {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|error| ConfigError::Read {
                    source_name: source_name(None),
                    error,
                })?;
            (text, source_name(None))
        } else {
            let source = source_name(Some(&PathBuf::from(path)));
            let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
                source_name: source.clone(),
                error,
            })?;
            (text, source)
        };
        Self::from_yaml(&text, &source)
    }

    /// Every semantic problem, each with its field path; `Ok` when there is none.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        self.validate_into(&mut errors);
        let errors = errors.into_vec();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Fills the defaults k0s derives from the host: the API address (the first address that is not
    /// loopback or link-local, IPv4 preferred) and the etcd peer address (the API address).
    pub fn apply_host_defaults(&mut self, host_addresses: &[IpAddr]) {
        let api = &mut self.spec.api;
        if api.address.is_none() {
            api.address = first_public_address(host_addresses);
        }
        if self.spec.storage.etcd.peer_address.is_none() {
            self.spec.storage.etcd.peer_address = api.address;
        }
    }

    /// The config as YAML, as `config create` prints it.
    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(self).expect("a ClusterConfig always serialises")
    }
}

fn first_public_address(addresses: &[IpAddr]) -> Option<IpAddr> {
    let public = |ip: &&IpAddr| match ip {
        IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_link_local() && !v4.is_unspecified(),
        IpAddr::V6(v6) => !v6.is_loopback() && !v6.is_unicast_link_local() && !v6.is_unspecified(),
    };
    let v4 = addresses.iter().filter(public).find(|ip| ip.is_ipv4());
    v4.or_else(|| addresses.iter().find(public)).copied()
}

fn parse(text: &str, source: &str) -> Result<ClusterConfig, ConfigError> {
    if text.trim().is_empty() {
        return Ok(ClusterConfig::default());
    }
    // YAML syntax first: the typed pass below streams, and would report a type mismatch at the
    // place where the syntax breaks instead of the broken syntax.
    serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text).map_err(|e| ConfigError::Syntax {
        source_name: source.to_owned(),
        error: e.to_string(),
    })?;
    let mut unknown = Vec::new();
    let mut track = serde_path_to_error::Track::new();
    let result = {
        let yaml = serde_yaml_ng::Deserializer::from_str(text);
        let tracked = serde_path_to_error::Deserializer::new(yaml, &mut track);
        serde_ignored::deserialize(tracked, |path| unknown.push(render(&path)))
    };
    let config: ClusterConfig = result.map_err(|error| {
        let path = track.path().to_string();
        let message = error.to_string();
        if path == "." || path.is_empty() {
            ConfigError::Syntax {
                source_name: source.to_owned(),
                error: message,
            }
        } else {
            // The YAML reader prefixes some messages with (a prefix of) the path; say it once.
            let message = match message.split_once(": ") {
                Some((head, rest)) if path.starts_with(head) => rest.to_owned(),
                _ => message,
            };
            ConfigError::Invalid {
                source_name: source.to_owned(),
                errors: vec![FieldError { path, message }],
            }
        }
    })?;
    if !unknown.is_empty() {
        let errors = unknown
            .into_iter()
            .map(|path| FieldError {
                path,
                message: "unknown field".to_owned(),
            })
            .collect();
        return Err(ConfigError::Invalid {
            source_name: source.to_owned(),
            errors,
        });
    }
    Ok(config)
}

/// Renders an ignored field's path as Kubernetes field paths look: `spec.workerProfiles[0].x`.
fn render(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", render(parent)),
        Path::Map { parent, key } => match render(parent) {
            p if p.is_empty() => key.clone(),
            p => format!("{p}.{key}"),
        },
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => render(parent),
    }
}
