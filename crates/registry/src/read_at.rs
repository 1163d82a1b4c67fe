//! Which state a read returns (`resourceVersion` and `resourceVersionMatch` of a list): the
//! newest, any at least as new as a given resourceVersion, or exactly one from the history.

use k0rs_api::{Status, StatusCause, StatusReason};
use k0rs_store::{Revision, StoreError};

use crate::generic::store_error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadAt {
    /// The newest state (no resourceVersion): a consistent read from the store.
    #[default]
    Latest,
    /// Any state (`resourceVersion=0`): served by the watch cache.
    Any,
    NotOlderThan(Revision),
    Exact(Revision),
}

impl ReadAt {
    /// From the query's `resourceVersion` and `resourceVersionMatch`, with Kubernetes' rules.
    pub fn parse(resource_version: Option<&str>, matching: Option<&str>) -> Result<Self, Status> {
        let rv = resource_version.filter(|rv| !rv.is_empty());
        let matching = matching.filter(|m| !m.is_empty());
        let invalid = |message: &str| {
            Status::invalid(
                "meta.k8s.io",
                "ListOptions",
                "",
                vec![StatusCause {
                    kind: Some("FieldValueForbidden".into()),
                    message: message.into(),
                    field: Some("resourceVersionMatch".into()),
                }],
            )
        };
        let revision = match rv {
            None if matching.is_some() => {
                return Err(invalid(
                    "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
                ));
            }
            None => return Ok(Self::Latest),
            Some(rv) => rv
                .parse::<Revision>()
                .map_err(|_| Status::bad_request(format!("invalid resourceVersion {rv:?}")))?,
        };
        match (matching, revision) {
            (None | Some("NotOlderThan"), 0) => Ok(Self::Any),
            (None | Some("NotOlderThan"), revision) => Ok(Self::NotOlderThan(revision)),
            (Some("Exact"), 0) => Err(invalid(
                "Forbidden: resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"0\"",
            )),
            (Some("Exact"), revision) => Ok(Self::Exact(revision)),
            (Some(other), _) => Err(invalid(&format!(
                "Unsupported value: {other:?}: supported values: \"Exact\", \"NotOlderThan\""
            ))),
        }
    }

    /// The revision a store read asks for (0: the newest).
    pub(crate) fn revision(self) -> Revision {
        match self {
            Self::Exact(revision) => revision,
            _ => 0,
        }
    }

    /// 504 if the state read is older than the client has already seen.
    pub(crate) fn check(self, served: Revision) -> Result<(), Status> {
        match self {
            Self::NotOlderThan(wanted) if served < wanted => Err(too_large(wanted, served)),
            _ => Ok(()),
        }
    }

    /// A store error of the read: an exact revision that was compacted is 410 Expired.
    pub(crate) fn error(self, error: &StoreError) -> Status {
        match (self, error) {
            (Self::Exact(_), StoreError::Compacted { .. }) => Status::failure(
                StatusReason::Expired,
                "The resourceVersion for the provided list is too old.",
            ),
            _ => store_error(error),
        }
    }
}

/// 504: the state asked for is newer than the server has (Kubernetes' "Too large resource
/// version", with its cause).
pub(crate) fn too_large(wanted: Revision, current: Revision) -> Status {
    let mut status = Status::failure(
        StatusReason::Timeout,
        format!("Too large resource version: {wanted}, current: {current}"),
    );
    status.details = Some(Box::new(k0rs_api::StatusDetails {
        causes: vec![StatusCause {
            kind: Some("ResourceVersionTooLarge".into()),
            message: "Too large resource version".into(),
            field: None,
        }],
        ..Default::default()
    }));
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_rules_for_resource_version_and_match() {
        assert_eq!(ReadAt::parse(None, None).unwrap(), ReadAt::Latest);
        assert_eq!(ReadAt::parse(Some("0"), None).unwrap(), ReadAt::Any);
        assert_eq!(
            ReadAt::parse(Some("12"), None).unwrap(),
            ReadAt::NotOlderThan(12)
        );
        assert_eq!(
            ReadAt::parse(Some("12"), Some("Exact")).unwrap(),
            ReadAt::Exact(12)
        );
        assert_eq!(ReadAt::parse(None, Some("Exact")).unwrap_err().code, 422);
        assert_eq!(
            ReadAt::parse(Some("0"), Some("Exact")).unwrap_err().code,
            422
        );
        assert_eq!(
            ReadAt::parse(Some("1"), Some("Newest")).unwrap_err().code,
            422
        );
        assert_eq!(ReadAt::parse(Some("x"), None).unwrap_err().code, 400);
        assert_eq!(ReadAt::NotOlderThan(9).check(5).unwrap_err().code, 504);
        assert!(ReadAt::NotOlderThan(5).check(9).is_ok());
    }
}
