//! Signals: how the leader tells one node what to apply, and how the node answers — k0s's
//! "signaling v2", two annotations on the node's object (the ControlNode of a controller, the
//! Node of a worker): `k0sproject.io/autopilot-signal-version: v2` and
//! `k0sproject.io/autopilot-signal-data`, a JSON document with the plan's id, the command, and
//! the node's progress in `status`. The leader writes the document without `status`; the node
//! fills `status` as it goes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const VERSION_ANNOTATION: &str = "k0sproject.io/autopilot-signal-version";
pub const DATA_ANNOTATION: &str = "k0sproject.io/autopilot-signal-data";
/// The only signaling version (k0s's).
pub const SIGNAL_VERSION: &str = "v2";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignalData {
    pub plan_id: String,
    /// When the leader sent the signal (RFC 3339).
    pub created: String,
    pub command: SignalCommand,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SignalStatus>,
}

/// One command: exactly one of `k0supdate` and `airgapupdate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalCommand {
    /// The command's index in the plan.
    pub id: u32,
    #[serde(rename = "k0supdate", default, skip_serializing_if = "Option::is_none")]
    pub k0s_update: Option<SignalUpdate>,
    #[serde(
        rename = "airgapupdate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub airgap_update: Option<SignalUpdate>,
}

impl SignalCommand {
    /// The artifact to fetch, whichever the command is.
    pub fn update(&self) -> Option<&SignalUpdate> {
        self.k0s_update.as_ref().or(self.airgap_update.as_ref())
    }
}

/// An artifact for this node's platform.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalUpdate {
    pub url: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha256: String,
    #[serde(
        rename = "forceupdate",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub force_update: bool,
    /// k0rs: where the artifact's minisign signature is (k0s has no such field).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub signature: String,
}

/// The node's progress. `status` is one of [`Progress`]'s names; k0rs adds `description`
/// (why a node failed), which k0s readers ignore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalStatus {
    pub status: Progress,
    pub timestamp: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

impl SignalStatus {
    pub fn now(status: Progress, description: impl Into<String>) -> Self {
        Self {
            status,
            timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            description: description.into(),
        }
    }
}

/// Where a node is with a signal (k0s's names where k0s has the step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Progress {
    Downloading,
    /// The download failed, or its checksum did not match.
    FailedDownload,
    /// k0rs: the signature is missing, bad, or by a key the cluster does not trust.
    FailedVerification,
    ApplyingUpdate,
    /// The new binary is in place and k0rs restarts on it.
    Restart,
    /// The node came back healthy on the new version.
    Completed,
    /// k0rs: the node did not become healthy on the new binary and went back to the previous one.
    RolledBack,
    /// Anything else that stopped the node (a file it could not write, an import that failed).
    ApplyFailed,
}

impl Progress {
    /// Whether the node is done with the signal, well or badly.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Completed
                | Self::FailedDownload
                | Self::FailedVerification
                | Self::RolledBack
                | Self::ApplyFailed
        )
    }
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let json = serde_json::to_value(self).map_err(|_| std::fmt::Error)?;
        f.write_str(json.as_str().unwrap_or_default())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignalError {
    #[error("{VERSION_ANNOTATION} is {0:?}; only {SIGNAL_VERSION:?} is understood")]
    Version(String),
    #[error("{DATA_ANNOTATION} is not signal data: {0}")]
    Data(#[from] serde_json::Error),
    #[error(
        "{DATA_ANNOTATION}: the command has {0} of k0supdate and airgapupdate; exactly one is needed"
    )]
    Command(usize),
}

impl SignalData {
    /// The signal in an object's annotations; `None` when it has none.
    pub fn from_annotations(
        annotations: &BTreeMap<String, String>,
    ) -> Option<Result<Self, SignalError>> {
        let data = annotations.get(DATA_ANNOTATION)?;
        Some(Self::decode(
            annotations.get(VERSION_ANNOTATION).map(String::as_str),
            data,
        ))
    }

    fn decode(version: Option<&str>, data: &str) -> Result<Self, SignalError> {
        if version != Some(SIGNAL_VERSION) {
            return Err(SignalError::Version(version.unwrap_or_default().to_owned()));
        }
        let signal: Self = serde_json::from_str(data)?;
        let commands = usize::from(signal.command.k0s_update.is_some())
            + usize::from(signal.command.airgap_update.is_some());
        if commands != 1 {
            return Err(SignalError::Command(commands));
        }
        Ok(signal)
    }

    /// The two annotations, as a merge patch's `metadata.annotations`.
    pub fn to_annotations(&self) -> serde_json::Value {
        serde_json::json!({
            VERSION_ANNOTATION: SIGNAL_VERSION,
            DATA_ANNOTATION: serde_json::to_string(self).unwrap_or_default(),
        })
    }

    /// Whether this signal is the one the leader sends for `plan_id`'s command `id`.
    pub fn is_for(&self, plan_id: &str, id: u32) -> bool {
        self.plan_id == plan_id && self.command.id == id
    }

    pub fn progress(&self) -> Option<Progress> {
        self.status.as_ref().map(|s| s.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(version: &str, data: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            (VERSION_ANNOTATION.to_owned(), version.to_owned()),
            (DATA_ANNOTATION.to_owned(), data.to_owned()),
        ])
    }

    #[test]
    fn reads_what_k0s_writes() {
        let k0s = r#"{"planId":"id123","created":"2024-01-01T00:00:00Z","command":{"id":0,"k0supdate":{"url":"http://x/k0s","version":"v1.28.5+k0s.0","sha256":"ab"}},"status":{"status":"Completed","timestamp":"2024-01-01T00:01:00Z"}}"#;
        let signal = SignalData::from_annotations(&annotations("v2", k0s))
            .unwrap()
            .unwrap();
        assert_eq!(signal.progress(), Some(Progress::Completed));
        assert!(signal.is_for("id123", 0));
        assert_eq!(signal.command.update().unwrap().version, "v1.28.5+k0s.0");
    }

    #[test]
    fn round_trips_and_refuses_what_it_cannot_act_on() {
        let signal = SignalData {
            plan_id: "p".into(),
            created: "now".into(),
            command: SignalCommand {
                id: 1,
                k0s_update: None,
                airgap_update: Some(SignalUpdate {
                    url: "http://x/bundle".into(),
                    version: "v1".into(),
                    ..SignalUpdate::default()
                }),
            },
            status: Some(SignalStatus::now(Progress::RolledBack, "why")),
        };
        let value = signal.to_annotations();
        let map: BTreeMap<String, String> = serde_json::from_value(value).unwrap();
        assert_eq!(SignalData::from_annotations(&map).unwrap().unwrap(), signal);
        assert!(matches!(
            SignalData::from_annotations(&annotations("v1", "{}")),
            Some(Err(SignalError::Version(_)))
        ));
        let neither = r#"{"planId":"p","created":"c","command":{"id":0}}"#;
        assert!(matches!(
            SignalData::from_annotations(&annotations("v2", neither)),
            Some(Err(SignalError::Command(0)))
        ));
        assert!(SignalData::from_annotations(&BTreeMap::new()).is_none());
        assert!(Progress::RolledBack.is_final() && !Progress::Restart.is_final());
    }
}
