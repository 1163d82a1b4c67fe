//! Only objects that decode as their kind are stored. A create or update body, the object a patch
//! leaves and an apply configuration are checked against the kind's schema before anything is
//! written (`{"metadata":{"labels":"invalid"}}` stored once makes the object unreadable to every
//! client, and its namespace undeletable), and refused with kube-apiserver's answer for each.

use k0rs_api::Status;
use k0rs_api::patch::PatchType;
use k0rs_api::typecheck;
use serde_json::Value;

use crate::table::Resource;

/// The group, version and kind an object is checked as.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gvk<'a> {
    pub group: &'a str,
    pub version: &'a str,
    pub kind: &'a str,
}

impl<'a> Gvk<'a> {
    pub(crate) fn of(resource: &'a Resource) -> Self {
        Self {
            group: resource.group,
            version: resource.version,
            kind: resource.kind,
        }
    }

    /// `autoscaling/v1` `Scale`, what the scale subresource reads and writes.
    pub(crate) const SCALE: Gvk<'static> = Gvk {
        group: "autoscaling",
        version: "v1",
        kind: "Scale",
    };

    fn api_version(self) -> String {
        crate::group_version(self.group, self.version)
    }

    fn check(self, object: &Value) -> Result<(), Box<typecheck::Mismatch>> {
        typecheck::check(&self.api_version(), self.kind, object)
    }
}

/// 400 unless the body of a create or an update names `kind` and decodes as it (as
/// kube-apiserver's decoder refuses it).
pub(crate) fn check_body(kind: Gvk<'_>, body: &Value) -> Result<(), Status> {
    crate::type_meta::check(kind, body)?;
    kind.check(body)
        .map_err(|m| typecheck::not_decodable(kind.kind, kind.version, &m))
}

/// 422 unless the object a patch leaves decodes as `kind`. Kubernetes quotes the patched object
/// for JSON and merge patches and the patch itself for strategic merge patches, with the error of
/// the decoder each goes through.
pub(crate) fn check_patched(
    kind: Gvk<'_>,
    patch_type: PatchType,
    patch: &[u8],
    patched: &Value,
) -> Result<(), Status> {
    let Err(mismatch) = kind.check(patched) else {
        return Ok(());
    };
    let patch: Value = serde_json::from_slice(patch).unwrap_or_default();
    Err(match patch_type {
        PatchType::Json | PatchType::Merge => {
            typecheck::invalid_patch(&patched.to_string(), &mismatch.json_error())
        }
        PatchType::StrategicMerge => typecheck::invalid_patch(
            &typecheck::go_format(&patch),
            &mismatch.unstructured_error(),
        ),
        PatchType::Apply => mismatch.apply_refusal(&kind.api_version(), kind.kind, &patch),
    })
}

/// 400 unless an apply configuration decodes as `kind` (its fields typed as the kind's).
pub(crate) fn check_apply(kind: Gvk<'_>, config: &Value) -> Result<(), Status> {
    kind.check(config)
        .map_err(|m| m.apply_refusal(&kind.api_version(), kind.kind, config))
}

/// 400 unless a create or update body decodes as `resource`'s kind: for callers that look at
/// the body before the registry does (admission must not judge an object that cannot exist).
pub fn body_decodes(resource: &Resource, body: &Value) -> Result<(), Status> {
    check_body(Gvk::of(resource), body)
}

/// 422 unless the object a patch leaves decodes as `resource`'s kind (see [`body_decodes`]).
pub fn patched_decodes(
    resource: &Resource,
    patch_type: PatchType,
    patch: &[u8],
    patched: &Value,
) -> Result<(), Status> {
    check_patched(Gvk::of(resource), patch_type, patch, patched)
}
