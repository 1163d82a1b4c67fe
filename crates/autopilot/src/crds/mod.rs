//! The CustomResourceDefinitions of `autopilot.k0sproject.io/v1beta2`, as k0s installs them
//! (cluster-scoped; Plan and ControlNode with a status subresource; Plan's `State` column), with
//! structural schemas built here from shared pieces. A controller writes them to
//! `<data-dir>/manifests/autopilot/` for the manifest deployer, as k0s does.

mod schema;

use serde_json::{Value, json};

/// `(file name, manifest)` of each CRD, as YAML, in the order they are applied.
pub fn manifests() -> Vec<(&'static str, String)> {
    [
        ("autopilot.k0sproject.io_controlnodes.yaml", control_nodes()),
        ("autopilot.k0sproject.io_plans.yaml", plans()),
        (
            "autopilot.k0sproject.io_updateconfigs.yaml",
            update_configs(),
        ),
    ]
    .into_iter()
    .map(|(file, crd)| {
        (
            file,
            serde_yaml_ng::to_string(&crd).expect("a CRD serialises"),
        )
    })
    .collect()
}

fn crd(kind: &str, plural: &str, version: &Value) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{}", crate::api::GROUP)},
        "spec": {
            "group": crate::api::GROUP,
            "names": {
                "kind": kind,
                "listKind": format!("{kind}List"),
                "plural": plural,
                "singular": kind.to_lowercase(),
            },
            "scope": "Cluster",
            "versions": [version],
        },
    })
}

fn version(properties: &Value, status: bool, columns: Option<Value>) -> Value {
    let mut version = json!({
        "name": crate::api::VERSION,
        "served": true,
        "storage": true,
        "schema": {"openAPIV3Schema": {
            "type": "object",
            "properties": properties,
        }},
    });
    if status {
        version["subresources"] = json!({"status": {}});
    }
    if let Some(columns) = columns {
        version["additionalPrinterColumns"] = columns;
    }
    version
}

fn plans() -> Value {
    let properties = schema::object_properties([
        ("spec", schema::plan_spec()),
        ("status", schema::plan_status()),
    ]);
    let columns = json!([
        {"name": "State", "type": "string", "jsonPath": ".status.state"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]);
    crd("Plan", "plans", &version(&properties, true, Some(columns)))
}

fn control_nodes() -> Value {
    let properties = schema::object_properties([("status", schema::control_node_status())]);
    crd(
        "ControlNode",
        "controlnodes",
        &version(&properties, true, None),
    )
}

fn update_configs() -> Value {
    let properties = schema::object_properties([("spec", schema::update_spec())]);
    let mut crd = crd(
        "UpdateConfig",
        "updateconfigs",
        &version(&properties, false, None),
    );
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["required"] = json!(["spec"]);
    crd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_cluster_scoped_crds_of_the_autopilot_group() {
        let manifests = manifests();
        assert_eq!(manifests.len(), 3);
        for (file, yaml) in manifests {
            let crd: Value = serde_yaml_ng::from_str(&yaml).unwrap();
            assert_eq!(crd["spec"]["group"], "autopilot.k0sproject.io", "{file}");
            assert_eq!(crd["spec"]["scope"], "Cluster", "{file}");
            assert!(file.ends_with(&format!(
                "_{}.yaml",
                crd["spec"]["names"]["plural"].as_str().unwrap()
            )));
        }
    }

    #[test]
    fn the_plan_schema_knows_k0s_fields() {
        let plan = plans();
        let spec = &plan["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        let command = &spec["properties"]["commands"]["items"]["properties"];
        let update = &command["k0supdate"]["properties"];
        for field in ["version", "forceupdate", "platforms", "targets"] {
            assert!(update.get(field).is_some(), "k0supdate.{field}");
        }
        let limits = &update["targets"]["properties"]["workers"]["properties"]["limits"];
        assert_eq!(limits["default"], json!({"concurrent": 1}));
        assert!(
            command["airgapupdate"]["properties"]
                .get("workers")
                .is_some()
        );
    }
}
