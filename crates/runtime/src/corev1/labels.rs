//! Label selectors (`matchLabels` and `matchExpressions`) over an object's labels, as pod
//! affinity terms, topology spread constraints, disruption budgets and network policies use them.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Whether `selector` selects `labels` (an absent selector selects nothing, an empty one all).
pub fn selects(selector: Option<&LabelSelector>, labels: &BTreeMap<String, String>) -> bool {
    let Some(selector) = selector else {
        return false;
    };
    selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v))
        && selector.match_expressions.iter().flatten().all(|e| {
            let values = e.values.as_deref().unwrap_or_default();
            let value = labels.get(&e.key);
            match e.operator.as_str() {
                "In" => value.is_some_and(|v| values.contains(v)),
                "NotIn" => value.is_none_or(|v| !values.contains(v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    #[test]
    fn labels_and_expressions() {
        let labels = BTreeMap::from([("app".to_owned(), "web".to_owned())]);
        let by_label = LabelSelector {
            match_labels: Some(labels.clone()),
            match_expressions: None,
        };
        assert!(selects(Some(&by_label), &labels));
        assert!(!selects(Some(&by_label), &BTreeMap::new()));
        assert!(!selects(None, &labels));
        assert!(selects(Some(&LabelSelector::default()), &BTreeMap::new()));
        let not_in = LabelSelector {
            match_labels: None,
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "app".to_owned(),
                operator: "NotIn".to_owned(),
                values: Some(vec!["web".to_owned()]),
            }]),
        };
        assert!(!selects(Some(&not_in), &labels));
        assert!(selects(Some(&not_in), &BTreeMap::new()));
    }
}
