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
    /// A watch or list from a resourceVersion that was compacted away.
    Expired,
    Invalid,
    BadRequest,
    MethodNotAllowed,
    NotAcceptable,
    RequestEntityTooLarge,
    UnsupportedMediaType,
    InternalError,
    ServiceUnavailable,
    /// A request refused for now, to be retried (an eviction against a disruption budget).
    TooManyRequests,
    /// The server could not answer in time (a resourceVersion newer than it has, for one).
    Timeout,
    /// No reason given (`""`): what an admission webhook's refusal carries when its own status
    /// names none.
    #[serde(rename = "")]
    Unknown,
}

impl StatusReason {
    pub fn code(self) -> u16 {
        match self {
            StatusReason::Unauthorized => 401,
            StatusReason::Forbidden => 403,
            StatusReason::NotFound => 404,
            StatusReason::AlreadyExists | StatusReason::Conflict => 409,
            StatusReason::Gone | StatusReason::Expired => 410,
            StatusReason::Invalid => 422,
            StatusReason::BadRequest => 400,
            StatusReason::MethodNotAllowed => 405,
            StatusReason::NotAcceptable => 406,
            StatusReason::RequestEntityTooLarge => 413,
            StatusReason::UnsupportedMediaType => 415,
            StatusReason::InternalError | StatusReason::Unknown => 500,
            StatusReason::ServiceUnavailable => 503,
            StatusReason::TooManyRequests => 429,
            StatusReason::Timeout => 504,
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

/// A failure `Status` object (`kind: Status, apiVersion: v1`). Small, since every handler returns
/// it as its error: the constant fields are written when it is serialised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub message: String,
    pub reason: StatusReason,
    pub code: u16,
    pub details: Option<Box<StatusDetails>>,
}

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire<'a> {
            kind: &'static str,
            api_version: &'static str,
            metadata: serde_json::Map<String, serde_json::Value>,
            status: &'static str,
            message: &'a str,
            reason: StatusReason,
            #[serde(skip_serializing_if = "Option::is_none")]
            details: Option<&'a StatusDetails>,
            code: u16,
        }
        Wire {
            kind: "Status",
            api_version: "v1",
            metadata: serde_json::Map::new(),
            status: "Failure",
            message: &self.message,
            reason: self.reason,
            details: self.details.as_deref(),
            code: self.code,
        }
        .serialize(serializer)
    }
}

/// Why a write based on a stale resourceVersion failed, as Kubernetes words it.
const STALE: &str =
    "the object has been modified; please apply your changes to the latest version and try again";

impl Status {
    pub fn failure(reason: StatusReason, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            reason,
            code: reason.code(),
            details: None,
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
        status.details = Some(Box::default());
        status
    }

    /// `user` may not `verb` `resource` (Kubernetes' wording, naming group, namespace and name).
    pub fn forbidden(
        user: &str,
        verb: &str,
        group: &str,
        resource: &str,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Self {
        let mut message = match name {
            Some(name) => format!(
                "{} \"{name}\" is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"{group}\"",
                qualified(group, resource)
            ),
            None => format!(
                "{} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"{group}\"",
                qualified(group, resource)
            ),
        };
        match namespace {
            Some(ns) => {
                message += " in the namespace \"";
                message += ns;
                message += "\"";
            }
            None => message += " at the cluster scope",
        }
        let details = StatusDetails {
            name: name.map(str::to_owned),
            group: (!group.is_empty()).then(|| group.to_owned()),
            kind: Some(resource.to_owned()),
            causes: Vec::new(),
        };
        Self::failure(StatusReason::Forbidden, message).with_details(details)
    }

    /// Nothing is served at `path`.
    pub fn not_found_path(path: &str) -> Self {
        let mut status = Self::failure(
            StatusReason::NotFound,
            format!("the server could not find the requested resource ({path})"),
        );
        status.details = Some(Box::default());
        status
    }

    fn with_details(mut self, details: StatusDetails) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    fn object_details(group: &str, resource: &str, name: &str) -> StatusDetails {
        StatusDetails {
            name: Some(name.to_owned()),
            group: (!group.is_empty()).then(|| group.to_owned()),
            kind: Some(resource.to_owned()),
            causes: Vec::new(),
        }
    }

    /// `<resource> "<name>" not found`.
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        Self::failure(
            StatusReason::NotFound,
            format!("{} \"{name}\" not found", qualified(group, resource)),
        )
        .with_details(Self::object_details(group, resource, name))
    }

    /// `<resource> "<name>" already exists`.
    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        Self::failure(
            StatusReason::AlreadyExists,
            format!("{} \"{name}\" already exists", qualified(group, resource)),
        )
        .with_details(Self::object_details(group, resource, name))
    }

    /// A write based on a stale resourceVersion.
    pub fn conflict(group: &str, resource: &str, name: &str) -> Self {
        Self::conflict_with(group, resource, name, STALE)
    }

    /// Whether this is `conflict`'s answer: a write lost to a newer one, which a server-side
    /// read-modify-write (binding, apply, patch) redoes on the newest object.
    pub fn is_stale_write(&self) -> bool {
        self.code == 409 && self.message.ends_with(STALE)
    }

    /// A write that cannot be done on the object as it is now, for `reason`.
    pub fn conflict_with(group: &str, resource: &str, name: &str, reason: impl AsRef<str>) -> Self {
        Self::failure(
            StatusReason::Conflict,
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {}",
                qualified(group, resource),
                reason.as_ref()
            ),
        )
        .with_details(Self::object_details(group, resource, name))
    }

    /// `<Kind> "<name>" is invalid: <field>: <message>` with one cause per problem.
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<StatusCause>) -> Self {
        let summary: Vec<String> = causes
            .iter()
            .map(|c| match &c.field {
                Some(field) => format!("{field}: {}", c.message),
                None => c.message.clone(),
            })
            .collect();
        let mut details = Self::object_details(group, kind, name);
        details.causes = causes;
        Self::failure(
            StatusReason::Invalid,
            format!("{kind} \"{name}\" is invalid: {}", summary.join(", ")),
        )
        .with_details(details)
    }

    /// `invalid` with one cause: `field` has an invalid value, for `message`.
    pub fn invalid_field(
        group: &str,
        kind: &str,
        name: &str,
        field: &str,
        message: impl Into<String>,
    ) -> Self {
        Self::invalid(
            group,
            kind,
            name,
            vec![StatusCause {
                kind: Some("FieldValueInvalid".into()),
                message: message.into(),
                field: Some(field.into()),
            }],
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::failure(StatusReason::BadRequest, message)
    }

    pub fn method_not_allowed() -> Self {
        Self::failure(
            StatusReason::MethodNotAllowed,
            "the server does not allow this method on the requested resource",
        )
        .with_details(StatusDetails::default())
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::failure(StatusReason::InternalError, message)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a Status always serialises")
    }
}

/// `configmaps` or `deployments.apps`, as Kubernetes names resources in messages.
fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_owned()
    } else {
        format!("{resource}.{group}")
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
