//! PATCH bodies: JSON patch (RFC 6902), JSON merge patch (RFC 7396) and Kubernetes' strategic merge
//! patch, chosen by the request's content type. A patch that does not apply is a `Status` error and
//! changes nothing.

mod last_applied;
mod managed_fields;
mod server_side;
mod strategic;

pub use managed_fields::track_update;
pub use server_side::apply as server_side_apply;

use serde_json::Value;

use crate::{Status, StatusReason};

/// The patch formats Kubernetes accepts, by content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    StrategicMerge,
    /// Server-side apply: a whole configuration, owned by its field manager.
    Apply,
}

impl PatchType {
    /// The patch type of a `Content-Type` header value (parameters ignored).
    pub fn from_content_type(content_type: &str) -> Result<Self, Status> {
        match content_type.split(';').next().unwrap_or_default().trim() {
            "application/json-patch+json" => Ok(PatchType::Json),
            "application/merge-patch+json" => Ok(PatchType::Merge),
            "application/strategic-merge-patch+json" => Ok(PatchType::StrategicMerge),
            "application/apply-patch+yaml" => Ok(PatchType::Apply),
            other => Err(Status::failure(
                StatusReason::UnsupportedMediaType,
                format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {other:?})"
                ),
            )),
        }
    }
}

/// Applies `patch` to `original` and returns the patched object.
pub fn apply(original: &Value, patch: &[u8], kind: PatchType) -> Result<Value, Status> {
    let patch: Value = serde_json::from_slice(patch)
        .map_err(|e| Status::bad_request(format!("the patch could not be decoded as JSON: {e}")))?;
    let mut patched = original.clone();
    match kind {
        PatchType::Json => {
            let operations: json_patch::Patch = serde_json::from_value(patch)
                .map_err(|e| Status::bad_request(format!("invalid JSON patch: {e}")))?;
            json_patch::patch(&mut patched, &operations).map_err(|e| {
                Status::failure(
                    StatusReason::Invalid,
                    format!("the JSON patch could not be applied: {e}"),
                )
            })?;
        }
        PatchType::Merge => {
            if !patch.is_object() {
                return Err(Status::bad_request("a merge patch must be a JSON object"));
            }
            json_patch::merge(&mut patched, &patch);
        }
        // An apply configuration previews as a strategic merge; ownership is `server_side_apply`'s.
        PatchType::StrategicMerge | PatchType::Apply => {
            let Value::Object(patch) = patch else {
                return Err(Status::bad_request(
                    "a strategic merge patch must be a JSON object",
                ));
            };
            strategic::merge(&mut patched, &patch, "")?;
        }
    }
    Ok(patched)
}
