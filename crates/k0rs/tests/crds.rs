//! CustomResourceDefinitions against `k0rs controller`, judged by kubectl: a CRD becomes
//! Established, its objects are served and discovered, its status subresource works, and deleting
//! it removes its objects.

mod harness;

use harness::controller::{Controller, kubectl, kubectl_ok};
use harness::{path_str, stderr, stdout};

const CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: plans.autopilot.k0sproject.io
spec:
  group: autopilot.k0sproject.io
  names: {kind: Plan, plural: plans, singular: plan, shortNames: [pl]}
  scope: Cluster
  versions:
  - name: v1beta2
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: State, type: string, jsonPath: .status.state}
    - {name: ID, type: string, jsonPath: .spec.id, priority: 1}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
          status: {type: object, x-kubernetes-preserve-unknown-fields: true}
";

const PLAN: &str = "apiVersion: autopilot.k0sproject.io/v1beta2
kind: Plan
metadata: {name: autopilot}
spec: {id: id123, timestamp: now}
";

#[test]
fn a_crd_serves_its_objects_until_it_is_deleted() {
    let controller = Controller::start();
    let admin = controller.admin();
    let run = |args: &[&str]| kubectl_ok(&admin, args);
    let crd = controller.node.root.path().join("crd.yaml");
    let plan = controller.node.root.path().join("plan.yaml");
    std::fs::write(&crd, CRD).unwrap();
    std::fs::write(&plan, PLAN).unwrap();

    run(&["apply", "-f", path_str(&crd)]);
    run(&[
        "wait",
        "--for=condition=Established",
        "crd/plans.autopilot.k0sproject.io",
        "--timeout=30s",
    ]);
    let resources = run(&["api-resources", "--api-group=autopilot.k0sproject.io"]);
    assert!(
        resources.contains("plans") && resources.contains("pl "),
        "{resources}"
    );

    run(&["apply", "-f", path_str(&plan)]);
    assert_eq!(
        run(&["get", "pl", "autopilot", "-o", "jsonpath={.spec.id}"]),
        "id123"
    );
    // The status subresource: a status write keeps the spec, a spec write keeps the status.
    run(&[
        "patch",
        "plan",
        "autopilot",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"state":"Schedulable"},"spec":{"id":"changed"}}"#,
    ]);
    let stored: serde_json::Value =
        serde_json::from_str(&run(&["get", "plan", "autopilot", "-o", "json"])).unwrap();
    assert_eq!(stored["status"]["state"], "Schedulable");
    assert_eq!(stored["spec"]["id"], "id123");
    // `get` prints the CRD's columns (ID only with -o wide), then AGE.
    let table: Vec<Vec<String>> = run(&["get", "plans", "-o", "wide"])
        .lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect();
    assert_eq!(table[0], ["NAME", "STATE", "ID", "AGE"]);
    assert_eq!(table[1][..3], ["autopilot", "Schedulable", "id123"]);
    let narrow = run(&["get", "plans"]);
    assert!(
        narrow.starts_with("NAME") && !narrow.contains("ID"),
        "{narrow}"
    );

    // Deleting the CRD stops serving it and deletes its objects.
    run(&["delete", "crd", "plans.autopilot.k0sproject.io"]);
    let out = kubectl(
        &admin,
        &[
            "get",
            "--raw",
            "/apis/autopilot.k0sproject.io/v1beta2/plans",
        ],
    );
    assert!(!out.status.success());
    run(&["apply", "-f", path_str(&crd)]);
    run(&[
        "wait",
        "--for=condition=Established",
        "crd/plans.autopilot.k0sproject.io",
        "--timeout=30s",
    ]);
    let out = run(&["get", "plans", "-o", "name"]);
    assert!(out.trim().is_empty(), "objects survived their CRD: {out}");
}

const WIDGETS: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.k0rs.io
spec:
  group: example.k0rs.io
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1}
              color: {type: string, default: blue, enum: [blue, red]}
";

#[test]
fn custom_resources_are_pruned_defaulted_and_validated_by_their_schema() {
    let controller = Controller::start();
    let admin = controller.admin();
    let crd = controller.node.root.path().join("widgets.yaml");
    std::fs::write(&crd, WIDGETS).unwrap();
    let out = kubectl(&admin, &["apply", "-f", path_str(&crd)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = kubectl(
        &admin,
        &[
            "wait",
            "--for=condition=Established",
            "crd/widgets.example.k0rs.io",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let create = |name: &str, spec: &str| {
        let file = controller.node.root.path().join(format!("{name}.yaml"));
        std::fs::write(
            &file,
            format!("apiVersion: example.k0rs.io/v1\nkind: Widget\nmetadata: {{name: {name}}}\nspec: {spec}\n"),
        )
        .unwrap();
        kubectl(
            &admin,
            &["create", "--validate=false", "-f", path_str(&file)],
        )
    };
    let out = create("good", "{size: 3, shape: round}");
    assert!(out.status.success(), "{}", stderr(&out));
    let stored: serde_json::Value =
        serde_json::from_slice(&kubectl(&admin, &["get", "widget", "good", "-o", "json"]).stdout)
            .unwrap();
    assert_eq!(
        stored["spec"],
        serde_json::json!({"size": 3, "color": "blue"})
    );
    let out = create("bad", "{size: 0, color: green}");
    let message = stderr(&out);
    assert!(
        message.contains("spec.size in body should be greater than or equal to 1"),
        "{message}"
    );
    assert!(
        message.contains("spec.color: Unsupported value: \"green\""),
        "{message}"
    );
    let out = create("missing", "{color: red}");
    assert!(
        stderr(&out).contains("spec.size: Required value"),
        "{}",
        stderr(&out)
    );
    schema_served_to_kubectl(&controller, &admin);
}

/// The CRD's schema in OpenAPI v3: `explain` reads it, and strict validation (kubectl's
/// default) refuses what pruning would drop.
fn schema_served_to_kubectl(controller: &Controller, admin: &std::path::Path) {
    let out = kubectl(admin, &["explain", "widgets.spec.size"]);
    assert!(
        stdout(&out).contains("FIELD: size <integer>"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let out = kubectl(admin, &["explain", "widgets.spec", "--recursive"]);
    assert!(
        stdout(&out).contains("size\t<integer> -required-"),
        "{}",
        stdout(&out)
    );
    let file = controller.node.root.path().join("strict.yaml");
    std::fs::write(
        &file,
        "apiVersion: example.k0rs.io/v1\nkind: Widget\nmetadata: {name: strict}\nspec: {size: 1, shape: round}\n",
    )
    .unwrap();
    let out = kubectl(admin, &["create", "-f", path_str(&file)]);
    assert!(
        stderr(&out).contains(r#"strict decoding error: unknown field "spec.shape""#),
        "{}",
        stderr(&out)
    );
}

const GADGETS: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.k0rs.io
spec:
  group: example.k0rs.io
  names: {kind: Gadget, plural: gadgets}
  scope: Namespaced
  versions:
  - name: v1alpha1
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}, old: {type: string}}}
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
";

#[test]
fn a_crd_with_two_versions_serves_the_same_objects_in_both() {
    let controller = Controller::start();
    let admin = controller.admin();
    let run = |args: &[&str]| kubectl_ok(&admin, args);
    // Two storage versions are refused and nothing is stored.
    let twice = controller.node.root.path().join("twice.yaml");
    std::fs::write(&twice, GADGETS.replace("storage: false", "storage: true")).unwrap();
    let out = kubectl(&admin, &["create", "-f", path_str(&twice)]);
    assert!(
        stderr(&out).contains("must have exactly one version marked as storage version"),
        "{}",
        stderr(&out)
    );
    let crd = controller.node.root.path().join("gadgets.yaml");
    std::fs::write(&crd, GADGETS).unwrap();
    run(&["create", "-f", path_str(&crd)]);
    run(&[
        "wait",
        "--for=condition=Established",
        "crd/gadgets.example.k0rs.io",
    ]);
    let old = controller.node.root.path().join("old.yaml");
    std::fs::write(
        &old,
        "apiVersion: example.k0rs.io/v1alpha1\nkind: Gadget\nmetadata: {name: g}\nspec: {size: 2, old: x}\n",
    )
    .unwrap();
    run(&["create", "--validate=false", "-f", path_str(&old)]);
    // Read in the storage version: pruned by its schema, shown as v1.
    let v1: serde_json::Value = serde_json::from_str(&run(&[
        "get",
        "gadgets.v1.example.k0rs.io",
        "g",
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(v1["apiVersion"], "example.k0rs.io/v1");
    assert_eq!(v1["spec"], serde_json::json!({"size": 2}));
    let alpha: serde_json::Value = serde_json::from_str(&run(&[
        "get",
        "--raw",
        "/apis/example.k0rs.io/v1alpha1/namespaces/default/gadgets",
    ]))
    .unwrap();
    assert_eq!(alpha["items"][0]["apiVersion"], "example.k0rs.io/v1alpha1");
    assert_eq!(alpha["items"][0]["metadata"]["uid"], v1["metadata"]["uid"]);
    let status: serde_json::Value = serde_json::from_str(&run(&[
        "get",
        "crd",
        "gadgets.example.k0rs.io",
        "-o",
        "jsonpath={.status.storedVersions}",
    ]))
    .unwrap();
    assert_eq!(status, serde_json::json!(["v1"]));
}

/// A CRD whose schema uses every construct of a structural schema: arrays with `items`, maps with
/// `additionalProperties`, the `x-kubernetes-*` extensions, defaults, enums, formats, numeric and
/// length bounds, and the logical junctors with value validations only.
const DEVICES: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: devices.example.k0rs.io
spec:
  group: example.k0rs.io
  names: {kind: Device, plural: devices, singular: device, listKind: DeviceList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        description: A device.
        properties:
          spec:
            type: object
            required: [parts]
            x-kubernetes-validations:
            - rule: "self.parts.size() <= 10"
              message: too many parts
            properties:
              parts:
                type: array
                maxItems: 10
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [name]
                items:
                  type: object
                  required: [name]
                  properties:
                    name: {type: string, minLength: 1, maxLength: 63, pattern: "^[a-z]+$"}
                    count: {type: integer, format: int32, minimum: 0, maximum: 100, multipleOf: 1, default: 1}
                    tags:
                      type: array
                      x-kubernetes-list-type: set
                      items: {type: string}
              labels:
                type: object
                additionalProperties: {type: string}
                x-kubernetes-map-type: granular
              port:
                x-kubernetes-int-or-string: true
                anyOf: [{type: integer}, {type: string}]
              mode:
                type: string
                enum: [fast, slow]
                default: slow
                example: fast
                nullable: true
              ratio: {type: number, exclusiveMinimum: true, minimum: 0}
              matrix:
                type: array
                items:
                  type: array
                  items: {type: integer}
              template:
                type: object
                x-kubernetes-embedded-resource: true
                x-kubernetes-preserve-unknown-fields: true
              extra:
                type: object
                x-kubernetes-preserve-unknown-fields: true
              either:
                type: object
                properties:
                  a: {type: string}
                  b: {type: string}
                oneOf:
                - required: [a]
                - required: [b]
                not:
                  required: [c]
                minProperties: 1
                maxProperties: 2
          status:
            type: object
            properties:
              conditions:
                type: array
                items:
                  type: object
                  properties:
                    type: {type: string}
                    status: {type: string}
                    lastTransitionTime: {type: string, format: date-time}
"#;

/// A Device using each field of [`DEVICES`].
const DEVICE: &str = "apiVersion: example.k0rs.io/v1
kind: Device
metadata: {name: full}
spec:
  parts:
  - {name: wheel, count: 4, tags: [round, black]}
  - {name: seat}
  labels: {color: red}
  port: http
  mode: fast
  ratio: 0.5
  matrix: [[1, 2], [3]]
  template: {apiVersion: v1, kind: ConfigMap, metadata: {name: inner}, data: {a: b}}
  extra: {anything: [1, {deep: true}]}
  either: {a: x}
";

/// Strict field validation (kubectl's default) accepts every valid structural schema, and the
/// objects it describes, with kubectl 1.28 and 1.33.
#[test]
fn strict_validation_accepts_every_construct_of_a_structural_schema() {
    let controller = Controller::start();
    let admin = controller.admin();
    let crd = controller.node.root.path().join("devices.yaml");
    let client_side = controller.node.root.path().join("device.yaml");
    let server_side = controller.node.root.path().join("device-ssa.yaml");
    std::fs::write(&crd, DEVICES).unwrap();
    std::fs::write(&client_side, DEVICE).unwrap();
    std::fs::write(
        &server_side,
        DEVICE.replace("name: full}", "name: full-ssa}"),
    )
    .unwrap();
    for kubectl_binary in ["kubectl", "/usr/lib/google-cloud-sdk/bin/kubectl.1.33"] {
        let run = |args: &[&str]| {
            let out = harness::controller::kubectl_bin(kubectl_binary, &admin, args);
            assert!(
                out.status.success(),
                "{kubectl_binary} {args:?}: {}",
                stderr(&out)
            );
            stdout(&out)
        };
        run(&["apply", "--validate=strict", "-f", path_str(&crd)]);
        run(&[
            "wait",
            "--for=condition=Established",
            "crd/devices.example.k0rs.io",
            "--timeout=30s",
        ]);
        run(&["apply", "--validate=strict", "-f", path_str(&client_side)]);
        run(&[
            "apply",
            "--server-side",
            "--validate=strict",
            "-f",
            path_str(&server_side),
        ]);
        for name in ["full", "full-ssa"] {
            let stored: serde_json::Value =
                serde_json::from_str(&run(&["get", "device", name, "-o", "json"])).unwrap();
            assert_eq!(
                stored["spec"]["parts"][1]["count"], 1,
                "defaulted: {stored}"
            );
            assert_eq!(stored["spec"]["matrix"], serde_json::json!([[1, 2], [3]]));
            assert_eq!(stored["spec"]["extra"]["anything"][1]["deep"], true);
        }
        run(&["delete", "device", "full", "full-ssa"]);
        run(&["delete", "crd", "devices.example.k0rs.io", "--wait=true"]);
    }
}
