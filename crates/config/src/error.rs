//! Why a config could not be loaded.

use std::path::PathBuf;

use crate::field::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{source_name}: cannot read: {error}")]
    Read {
        source_name: String,
        error: std::io::Error,
    },
    #[error("{source_name}: {error}")]
    Syntax { source_name: String, error: String },
    #[error("{source_name}: invalid configuration:\n{}", render(.errors))]
    Invalid {
        source_name: String,
        errors: Vec<FieldError>,
    },
}

impl ConfigError {
    /// The problems found in individual fields (empty for read and YAML syntax errors).
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            ConfigError::Invalid { errors, .. } => errors,
            _ => &[],
        }
    }
}

fn render(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where a config came from, for messages: a path or `<stdin>`.
pub fn source_name(path: Option<&PathBuf>) -> String {
    path.map_or_else(|| "<stdin>".to_owned(), |p| p.display().to_string())
}
