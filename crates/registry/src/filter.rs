//! Label and field selectors of a list or watch, as one filter over objects.

use k0rs_api::Status;
use k0rs_store::Revision;
use serde_json::Value;

use crate::encoding::decode;
use crate::strategy;
use crate::table::Resource;

/// Which objects a list or watch selects.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub labels: k0rs_api::LabelSelector,
    pub fields: k0rs_api::FieldSelector,
}

impl Filter {
    /// Parses `labelSelector` and `fieldSelector` query values for `resource`.
    pub fn parse(
        resource: &Resource,
        labels: Option<&str>,
        fields: Option<&str>,
    ) -> Result<Self, Status> {
        Ok(Self {
            labels: k0rs_api::LabelSelector::parse(labels.unwrap_or_default())?,
            fields: k0rs_api::FieldSelector::parse(
                fields.unwrap_or_default(),
                &strategy::selectable_fields(resource),
            )?,
        })
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.labels.matches(object) && self.fields.matches(object)
    }

    /// Whether the stored `bytes` match, reading no more than their metadata (for a filter whose
    /// field selectors look only at metadata; bytes not stored metadata-first are parsed whole).
    pub(crate) fn matches_stored(&self, bytes: &[u8], revision: Revision) -> Result<bool, Status> {
        if self.labels.is_empty() && self.fields.is_empty() {
            return Ok(true);
        }
        let object = match crate::encoding::metadata_only(bytes) {
            Some(metadata) => metadata,
            None => decode(bytes, revision)?,
        };
        Ok(self.matches(&object))
    }
}
