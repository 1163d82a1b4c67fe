//! CEL against `k0rs controller`, judged by the host's kubectl: the `x-kubernetes-validations`
//! rules of a CRD refuse objects (and transitions) with kube-apiserver's messages, a CRD whose
//! rule does not compile is refused, and ValidatingAdmissionPolicies with their bindings deny or
//! warn about writes — by namespace, with params from a ConfigMap.

mod harness;

use std::path::Path;

use harness::controller::{Controller, kubectl, kubectl_ok};
use harness::{path_str, stderr};

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.cel.k0rs.io}
spec:
  group: cel.k0rs.io
  names: {kind: Widget, plural: widgets, singular: widget}
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
            x-kubernetes-validations:
            - rule: "self.replicas <= self.maxReplicas"
              messageExpression: "'replicas ' + string(self.replicas) + ' exceeds maxReplicas ' + string(self.maxReplicas)"
            - rule: "self.mode == oldSelf.mode"
              message: mode is immutable
              fieldPath: .mode
            - rule: "!has(self.owner) || self.owner.startsWith('team-')"
              message: owner must start with team-
              reason: FieldValueForbidden
            properties:
              replicas: {type: integer}
              maxReplicas: {type: integer}
              mode: {type: string}
              owner: {type: string}
"#;

const BAD_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.cel.k0rs.io}
spec:
  group: cel.k0rs.io
  names: {kind: Gadget, plural: gadgets, singular: gadget}
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
            x-kubernetes-validations:
            - rule: "self.replicas >"
            properties:
              replicas: {type: integer}
"#;

fn widget(replicas: i64, mode: &str, owner: Option<&str>) -> String {
    let owner = owner.map(|o| format!(", owner: {o}")).unwrap_or_default();
    format!(
        "apiVersion: cel.k0rs.io/v1\nkind: Widget\nmetadata: {{name: w1, namespace: default}}\n\
         spec: {{replicas: {replicas}, maxReplicas: 5, mode: {mode}{owner}}}\n"
    )
}

/// `kubectl apply` of `manifest` (written to `name` under `dir`).
fn apply(admin: &Path, dir: &Path, name: &str, manifest: &str) -> std::process::Output {
    let file = dir.join(name);
    std::fs::write(&file, manifest).unwrap();
    kubectl(admin, &["apply", "-f", path_str(&file)])
}

/// The refusal kubectl printed, and that it exited with 1.
fn refused(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    stderr(out).trim().to_owned()
}

#[test]
fn crd_rules_refuse_objects_and_transitions_and_uncompilable_rules_refuse_the_crd() {
    let controller = Controller::start();
    let admin = controller.admin();
    let dir = controller.node.root.path();
    assert!(apply(&admin, dir, "crd.yaml", CRD).status.success());
    kubectl_ok(
        &admin,
        &[
            "wait",
            "--for=condition=Established",
            "crd/widgets.cel.k0rs.io",
            "--timeout=30s",
        ],
    );

    let out = apply(&admin, dir, "w.yaml", &widget(7, "fast", None));
    assert_eq!(
        refused(&out),
        r#"The Widget "w1" is invalid: spec: Invalid value: "object": replicas 7 exceeds maxReplicas 5"#
    );
    // A transition rule does not run on a create: there is no old value.
    let out = apply(&admin, dir, "w.yaml", &widget(3, "fast", None));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = apply(&admin, dir, "w.yaml", &widget(3, "slow", None));
    assert_eq!(
        refused(&out),
        r#"The Widget "w1" is invalid: spec.mode: Invalid value: "object": mode is immutable"#
    );
    let out = apply(&admin, dir, "w.yaml", &widget(4, "fast", Some("bob")));
    assert_eq!(
        refused(&out),
        r#"The Widget "w1" is invalid: spec: Forbidden: owner must start with team-"#
    );
    let out = apply(&admin, dir, "w.yaml", &widget(4, "fast", Some("team-a")));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        kubectl_ok(
            &admin,
            &["get", "widget", "w1", "-o", "jsonpath={.spec.replicas}"]
        ),
        "4"
    );

    let message = refused(&apply(&admin, dir, "bad.yaml", BAD_CRD));
    let expected = "The CustomResourceDefinition \"gadgets.cel.k0rs.io\" is invalid: \
        spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: \
        Invalid value: apiextensions.ValidationRule{Rule:\"self.replicas >\", Message:\"\", \
        MessageExpression:\"\", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:\"\"}: \
        compilation failed: ERROR: <input>:1:";
    assert!(message.starts_with(expected), "{message}");
    let out = kubectl(&admin, &["get", "crd", "gadgets.cel.k0rs.io"]);
    assert!(!out.status.success());
}

const POLICIES: &str = r#"apiVersion: admissionregistration.k8s.io/v1beta1
kind: ValidatingAdmissionPolicy
metadata: {name: replica-limit}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [apps]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [deployments]
  validations:
  - expression: object.spec.replicas <= 5
    message: replicas must be no greater than 5
---
apiVersion: admissionregistration.k8s.io/v1beta1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: replica-limit-test}
spec:
  policyName: replica-limit
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels: {env: test}
---
apiVersion: admissionregistration.k8s.io/v1beta1
kind: ValidatingAdmissionPolicy
metadata: {name: param-limit}
spec:
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules:
    - apiGroups: [apps]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [deployments]
  variables:
  - name: max
    expression: int(params.data.maxReplicas)
  validations:
  - expression: object.spec.replicas <= variables.max
    messageExpression: "'replicas must be at most ' + string(variables.max)"
---
apiVersion: admissionregistration.k8s.io/v1beta1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: param-limit-warn}
spec:
  policyName: param-limit
  paramRef: {name: limits, namespace: default, parameterNotFoundAction: Deny}
  validationActions: [Warn]
  matchResources:
    namespaceSelector:
      matchLabels: {env: warn}
---
apiVersion: admissionregistration.k8s.io/v1beta1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: param-limit-strict}
spec:
  policyName: param-limit
  paramRef: {name: limits, namespace: default, parameterNotFoundAction: Deny}
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels: {env: strict}
"#;

#[test]
fn validating_admission_policies_deny_or_warn_as_their_bindings_say() {
    let controller = Controller::start();
    let admin = controller.admin();
    let dir = controller.node.root.path();
    let run = |args: &[&str]| kubectl_ok(&admin, args);
    for (namespace, env) in [
        ("t", "test"),
        ("w", "warn"),
        ("s", "strict"),
        ("other", "prod"),
    ] {
        run(&["create", "namespace", namespace]);
        run(&["label", "namespace", namespace, &format!("env={env}")]);
    }
    run(&[
        "create",
        "configmap",
        "limits",
        "-n",
        "default",
        "--from-literal=maxReplicas=2",
    ]);
    let out = apply(&admin, dir, "policies.yaml", POLICIES);
    assert!(out.status.success(), "{}", stderr(&out));
    let create = |namespace: &str, name: &str, replicas: u32| {
        kubectl(
            &admin,
            &[
                "create",
                "deployment",
                name,
                "--image=registry.k8s.io/pause:3.9",
                &format!("--replicas={replicas}"),
                "-n",
                namespace,
            ],
        )
    };

    assert_eq!(
        refused(&create("t", "web", 6)),
        "error: failed to create deployment: deployments.apps \"web\" is forbidden: \
         ValidatingAdmissionPolicy 'replica-limit' with binding 'replica-limit-test' denied \
         request: replicas must be no greater than 5"
    );
    assert!(create("t", "small", 5).status.success());
    // The binding selects namespaces labelled env=test only.
    let out = create("other", "web", 6);
    assert!(out.status.success(), "{}", stderr(&out));

    // An update through a patch (kubectl apply of a changed object) is judged too.
    let scaled = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: small, namespace: t}\n\
        spec:\n  replicas: 9\n  selector: {matchLabels: {app: small}}\n  template:\n    \
        metadata: {labels: {app: small}}\n    spec: {containers: [{name: c, image: registry.k8s.io/pause:3.9}]}\n";
    let message = refused(&apply(&admin, dir, "scaled.yaml", scaled));
    assert!(
        // kubectl prints an Invalid refusal from its details: the resource and a cause
        // without a field.
        message.ends_with(
            "The deployments \"small\" is invalid: : ValidatingAdmissionPolicy 'replica-limit' \
             with binding 'replica-limit-test' denied request: replicas must be no greater than 5"
        ),
        "{message}"
    );
    assert_eq!(
        run(&[
            "get",
            "deployment",
            "small",
            "-n",
            "t",
            "-o",
            "jsonpath={.spec.replicas}"
        ]),
        "5"
    );

    // Params: the limit comes from the ConfigMap the binding names.
    assert_eq!(
        refused(&create("s", "web", 3)),
        "error: failed to create deployment: deployments.apps \"web\" is forbidden: \
         ValidatingAdmissionPolicy 'param-limit' with binding 'param-limit-strict' denied \
         request: replicas must be at most 2"
    );
    assert!(create("s", "two", 2).status.success());
    // Warn: written, with kubectl's "Warning:" line.
    let out = create("w", "web", 3);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim(),
        "Warning: Validation failed for ValidatingAdmissionPolicy 'param-limit' with binding \
         'param-limit-warn': replicas must be at most 2"
    );
    // A policy whose expression does not compile is refused.
    let broken = "apiVersion: admissionregistration.k8s.io/v1beta1\nkind: ValidatingAdmissionPolicy\n\
        metadata: {name: broken}\nspec:\n  validations:\n  - expression: object.spec.replicas <\n";
    let message = refused(&apply(&admin, dir, "broken.yaml", broken));
    assert!(
        message.starts_with(
            "The ValidatingAdmissionPolicy \"broken\" is invalid: spec.validations[0].expression: \
             Invalid value: \"object.spec.replicas <\": compilation failed: ERROR: <input>:1:"
        ),
        "{message}"
    );
    for (namespace, expected) in [("t", "small"), ("other", "web"), ("s", "two"), ("w", "web")] {
        assert_eq!(
            run(&["get", "deployments", "-n", namespace, "-o", "name"]).trim(),
            format!("deployment.apps/{expected}")
        );
    }
}
