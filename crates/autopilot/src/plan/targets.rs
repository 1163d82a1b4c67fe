//! Which nodes a target names: a static list, or label and field selectors over the nodes of its
//! kind. Selectors are Kubernetes' string form, with the equality operators (`k=v`, `k==v`,
//! `k!=v`) and existence (`k`, `!k`); fields are `metadata.name`.

use crate::api::Target;

use super::view::NodeView;

/// The nodes `target` picks among `nodes`, in name order; `Err` names the static nodes that do
/// not exist.
pub fn resolve<'a>(
    target: &Target,
    nodes: &'a [NodeView],
) -> Result<Vec<&'a NodeView>, Vec<String>> {
    let discovery = &target.discovery;
    if let Some(list) = &discovery.static_nodes {
        let missing: Vec<String> = list
            .nodes
            .iter()
            .filter(|name| !nodes.iter().any(|n| &n.name == *name))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(missing);
        }
        let mut picked: Vec<&NodeView> = nodes
            .iter()
            .filter(|n| list.nodes.contains(&n.name))
            .collect();
        picked.sort_by(|a, b| a.name.cmp(&b.name));
        return Ok(picked);
    }
    let (labels, fields) = discovery
        .selector
        .as_ref()
        .map_or(("", ""), |s| (s.labels.as_str(), s.fields.as_str()));
    let mut picked: Vec<&NodeView> = nodes
        .iter()
        .filter(|n| matches(labels, |key| n.labels.get(key).map(String::as_str)))
        .filter(|n| {
            matches(fields, |key| {
                (key == "metadata.name").then_some(n.name.as_str())
            })
        })
        .collect();
    picked.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(picked)
}

/// Whether every requirement of `selector` holds for the values `value` gives.
fn matches<'v>(selector: &str, value: impl Fn(&str) -> Option<&'v str>) -> bool {
    selector
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .all(|requirement| {
            if let Some((key, wanted)) = requirement.split_once("!=") {
                value(key.trim()) != Some(wanted.trim())
            } else if let Some((key, wanted)) = requirement
                .split_once("==")
                .or_else(|| requirement.split_once('='))
            {
                value(key.trim()) == Some(wanted.trim())
            } else if let Some(key) = requirement.strip_prefix('!') {
                value(key.trim()).is_none()
            } else {
                value(requirement).is_some()
            }
        })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::api::{Discovery, Selector, StaticNodes};

    fn node(name: &str, labels: &[(&str, &str)]) -> NodeView {
        NodeView {
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            ..NodeView::default()
        }
    }

    fn names(picked: &[&NodeView]) -> Vec<String> {
        picked.iter().map(|n| n.name.clone()).collect()
    }

    #[test]
    fn static_lists_and_selectors() {
        let nodes = [
            node("w2", &[("pool", "b")]),
            node("w1", &[("pool", "a"), ("gpu", "")]),
            node("w3", &[]),
        ];
        let by = |labels: &str, fields: &str| Target {
            discovery: Discovery {
                static_nodes: None,
                selector: Some(Selector {
                    labels: labels.into(),
                    fields: fields.into(),
                }),
            },
            limits: None,
        };
        assert_eq!(
            names(&resolve(&by("", ""), &nodes).unwrap()),
            ["w1", "w2", "w3"]
        );
        assert_eq!(names(&resolve(&by("pool=a", ""), &nodes).unwrap()), ["w1"]);
        assert_eq!(
            names(&resolve(&by("pool!=a", ""), &nodes).unwrap()),
            ["w2", "w3"]
        );
        assert_eq!(names(&resolve(&by("gpu", ""), &nodes).unwrap()), ["w1"]);
        assert_eq!(names(&resolve(&by("!pool", ""), &nodes).unwrap()), ["w3"]);
        assert_eq!(
            names(&resolve(&by("", "metadata.name==w2"), &nodes).unwrap()),
            ["w2"]
        );
        let listed = |list: &[&str]| Target {
            discovery: Discovery {
                static_nodes: Some(StaticNodes {
                    nodes: list.iter().map(|s| (*s).to_owned()).collect(),
                }),
                selector: None,
            },
            limits: None,
        };
        assert_eq!(
            names(&resolve(&listed(&["w3", "w1"]), &nodes).unwrap()),
            ["w1", "w3"]
        );
        assert_eq!(
            resolve(&listed(&["w1", "nope"]), &nodes).unwrap_err(),
            ["nope"]
        );
    }
}
