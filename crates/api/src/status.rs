//! `metav1.Status`: what the API server answers when a request fails, with the reason and code
//! Kubernetes clients switch on.

use serde::{Deserialize, Serialize};

/// `status.reason`, each with its HTTP code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusReason {
    Unauthorized,
    Forbidden,
    NotFound,
    AlreadyExists,
    Conflict,
    Gone,
    Invalid,
    BadRequest,
    MethodNotAllowed,
    NotAcceptable,
    RequestEntityTooLarge,
    UnsupportedMediaType,
    InternalError,
    ServiceUnavailable,
}

impl StatusReason {
    pub fn code(self) -> u16 {
        match self {
            StatusReason::Unauthorized => 401,
            StatusReason::Forbidden => 403,
            StatusReason::NotFound => 404,
            StatusReason::AlreadyExists | StatusReason::Conflict => 409,
            StatusReason::Gone => 410,
            StatusReason::Invalid => 422,
            StatusReason::BadRequest => 400,
            StatusReason::MethodNotAllowed => 405,
            StatusReason::NotAcceptable => 406,
            StatusReason::RequestEntityTooLarge => 413,
            StatusReason::UnsupportedMediaType => 415,
            StatusReason::InternalError => 500,
            StatusReason::ServiceUnavailable => 503,
        }
    }
}

/// One problem with one field (`details.causes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCause {
    #[serde(rename = "reason", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusDetails {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub causes: Vec<StatusCause>,
}

/// A `Status` object (`kind: Status, apiVersion: v1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub kind: String,
    pub api_version: String,
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub status: String,
    pub message: String,
    pub reason: StatusReason,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<StatusDetails>,
    pub code: u16,
}

impl Status {
    pub fn failure(reason: StatusReason, message: impl Into<String>) -> Self {
        Self {
            kind: "Status".into(),
            api_version: "v1".into(),
            metadata: serde_json::Map::new(),
            status: "Failure".into(),
            message: message.into(),
            reason,
            details: None,
            code: reason.code(),
        }
    }

    /// A request without valid credentials.
    pub fn unauthorized() -> Self {
        Self::failure(StatusReason::Unauthorized, "Unauthorized")
    }

    /// `user` may not `verb` the non-resource `path` (Kubernetes' wording).
    pub fn forbidden_path(user: &str, verb: &str, path: &str) -> Self {
        let mut status = Self::failure(
            StatusReason::Forbidden,
            format!("forbidden: User \"{user}\" cannot {verb} path \"{path}\""),
        );
        status.details = Some(StatusDetails::default());
        status
    }

    /// Nothing is served at `path`.
    pub fn not_found_path(path: &str) -> Self {
        let mut status = Self::failure(
            StatusReason::NotFound,
            format!("the server could not find the requested resource ({path})"),
        );
        status.details = Some(StatusDetails::default());
        status
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a Status always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_kubernetes_does() {
        let json: serde_json::Value =
            serde_json::from_str(&Status::unauthorized().to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Unauthorized", "reason": "Unauthorized", "code": 401
            })
        );
        let forbidden = Status::forbidden_path("alice", "get", "/api");
        assert_eq!(forbidden.code, 403);
        assert_eq!(
            forbidden.message,
            "forbidden: User \"alice\" cannot get path \"/api\""
        );
    }
}
