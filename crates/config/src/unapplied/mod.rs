//! Settings k0rs accepts but does not apply. A k0s config must load unchanged, yet nothing in it
//! may be ignored silently: every setting k0rs does not apply has one entry in [`table`], saying
//! what k0rs does instead. Where k0rs would run something other than what was asked (another pod
//! network, proxy mode or store) the entry is an error; everywhere else it is a warning naming the
//! field. A field counts only when it differs from k0s's default, so a default config yields
//! nothing. An entry is removed in the change that makes its field work.

mod table;

use std::fmt;

pub use table::{API_EXTRA_ARGS, CONTROLLER_MANAGER_EXTRA_ARGS};

use crate::model::{ClusterConfig, ClusterSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Accepted; k0rs runs without it and says so.
    Warning,
    /// Refused: k0rs would run something other than what was asked.
    Error,
}

/// One setting, at one field path (or command-line flag), that k0rs does not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unapplied {
    /// `spec.network.provider`, `spec.api.extraArgs.audit-log-maxage`, `--cri-socket`, …
    pub path: String,
    pub severity: Severity,
    /// What k0rs does instead.
    pub reason: String,
}

impl Unapplied {
    pub fn warning(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            severity: Severity::Warning,
            reason: reason.into(),
        }
    }

    pub fn error(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            severity: Severity::Error,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Unapplied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = match self.severity {
            Severity::Warning => "accepted but not applied by k0rs",
            Severity::Error => "not supported by k0rs",
        };
        write!(f, "{}: {verdict}: {}", self.path, self.reason)
    }
}

/// The settings that would make k0rs run something other than what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("settings k0rs does not support:\n{}", render(.0))]
pub struct Unsupported(pub Vec<Unapplied>);

fn render(errors: &[Unapplied]) -> String {
    errors
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The warnings among `findings`, or every error when there is one.
pub fn split(findings: Vec<Unapplied>) -> Result<Vec<Unapplied>, Unsupported> {
    let (errors, warnings): (Vec<_>, Vec<_>) = findings
        .into_iter()
        .partition(|f| f.severity == Severity::Error);
    if errors.is_empty() {
        Ok(warnings)
    } else {
        Err(Unsupported(errors))
    }
}

impl ClusterConfig {
    /// Every setting of this config that k0rs does not apply, in the order of [`table`].
    pub fn unapplied(&self) -> Vec<Unapplied> {
        table::RULES
            .iter()
            .flat_map(|rule| {
                (rule.hits)(&self.spec).into_iter().map(|suffix| Unapplied {
                    path: format!("{}{suffix}", rule.field),
                    severity: rule.severity,
                    reason: rule.reason.to_owned(),
                })
            })
            .collect()
    }
}

/// One entry of the table: a field k0s documents, and when this config sets it to something k0rs
/// does not apply.
struct Rule {
    /// The field path as k0s's configuration reference names it.
    field: &'static str,
    severity: Severity,
    reason: &'static str,
    /// The path suffixes (`""` for the field itself, `.key` for a map key, `[i]` for a list
    /// item) this config sets to something k0rs does not apply.
    hits: fn(&ClusterSpec) -> Vec<String>,
}

/// The field itself, when `set`.
fn when(set: bool) -> Vec<String> {
    if set { vec![String::new()] } else { Vec::new() }
}

/// Each key of an `extraArgs` map except those in `applied`.
fn keys_except<V>(map: &std::collections::BTreeMap<String, V>, applied: &[&str]) -> Vec<String> {
    map.keys()
        .filter(|key| !applied.contains(&key.as_str()))
        .map(|key| format!(".{key}"))
        .collect()
}

/// Each item of a list of `len` items.
fn items(len: usize) -> Vec<String> {
    (0..len).map(|i| format!("[{i}]")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_completely() {
        assert_eq!(ClusterConfig::default().unapplied(), []);
        let mut with_images = ClusterConfig::default();
        with_images.spec.images = Some(crate::Images::default());
        assert_eq!(with_images.unapplied(), []);
    }

    #[test]
    fn findings_render_with_their_path() {
        let warning = Unapplied::warning("spec.x", "because");
        assert_eq!(
            warning.to_string(),
            "spec.x: accepted but not applied by k0rs: because"
        );
        let error = Unapplied::error("spec.y", "never");
        assert_eq!(error.to_string(), "spec.y: not supported by k0rs: never");
        assert_eq!(split(vec![warning.clone()]), Ok(vec![warning.clone()]));
        assert_eq!(
            split(vec![warning, error.clone()]),
            Err(Unsupported(vec![error]))
        );
    }

    #[test]
    fn map_keys_and_items_get_their_own_paths() {
        let mut config = ClusterConfig::default();
        config
            .spec
            .api
            .extra_args
            .insert("bind-address".into(), "127.0.0.1".into());
        config
            .spec
            .api
            .extra_args
            .insert("audit-log-maxage".into(), "30".into());
        config.spec.feature_gates = vec![crate::FeatureGate::default(); 2];
        let paths: Vec<String> = config.unapplied().into_iter().map(|f| f.path).collect();
        assert_eq!(
            paths,
            [
                "spec.api.extraArgs.audit-log-maxage",
                "spec.featureGates[0]",
                "spec.featureGates[1]"
            ]
        );
    }
}
