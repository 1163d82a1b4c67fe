//! `apiVersion` and `kind` as serde defaults: objects read without them (from a Plan template, a
//! test) still serialise as complete API objects.

pub fn api_version() -> String {
    super::API_VERSION.to_owned()
}

pub fn plan() -> String {
    "Plan".to_owned()
}

pub fn control_node() -> String {
    "ControlNode".to_owned()
}

pub fn update_config() -> String {
    "UpdateConfig".to_owned()
}
