use serde_json::json;

use super::*;

fn mismatch(api_version: &str, kind: &str, object: &Value) -> Mismatch {
    *check(api_version, kind, object).expect_err("a mismatch")
}

#[test]
fn well_typed_objects_pass_and_unknown_fields_and_nulls_are_not_errors() {
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"a": "b"}, "creationTimestamp": null,
                     "annotations": null, "nosuchfield": 3},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"a": "b"}},
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
            "template": {"metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "x",
                    "ports": [{"containerPort": 80}],
                    "resources": {"limits": {"cpu": "100m", "memory": 128}}}],
                    "volumes": [{"name": "v", "hostPath": {"path": "/x"}}]}}},
        "status": {"conditions": [{"type": "Available", "status": "True",
            "lastUpdateTime": "2024-01-02T03:04:05Z",
            "lastTransitionTime": "2024-01-02T03:04:05.123456+02:00"}]}});
    assert_eq!(check("apps/v1", "Deployment", &deployment), Ok(()));
    let secret = json!({"metadata": {"name": "s"}, "data": {"k": "dmFsdWU=", "e": ""},
                        "stringData": {"x": "plain"}});
    assert_eq!(check("v1", "Secret", &secret), Ok(()));
    // Custom resources have no schema here.
    assert_eq!(
        check("example.com/v1", "Widget", &json!({"spec": 1})),
        Ok(())
    );
}

#[test]
fn a_wrongly_typed_field_is_named_as_go_names_it() {
    let cm = json!({"metadata": {"name": "c1", "labels": "invalid"}});
    let m = mismatch("v1", "ConfigMap", &cm);
    assert_eq!(
        m.json_error(),
        "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type map[string]string"
    );
    assert_eq!(m.unstructured_error(), "cannot restore map from string");
    assert_eq!(
        m.typed_error(),
        r#".metadata.labels: expected map, got "invalid""#
    );

    // List indices and map keys are not part of Go's field name; the element type is.
    let pod = json!({"spec": {"containers": [{"name": "c", "image": 7}]}});
    let m = mismatch("v1", "Pod", &pod);
    assert_eq!(
        m.json_error(),
        "json: cannot unmarshal number into Go struct field Container.spec.containers.image of type string"
    );
    assert_eq!(m.unstructured_error(), "cannot convert int64 to string");
    assert_eq!(
        m.typed_error(),
        ".spec.containers[0].image: expected string, got 7"
    );
    let m = mismatch("v1", "ConfigMap", &json!({"data": {"k": true}}));
    assert_eq!(
        m.json_error(),
        "json: cannot unmarshal bool into Go struct field ConfigMap.data of type string"
    );

    let replicas = json!({"spec": {"replicas": "two"}});
    let m = mismatch("apps/v1", "Deployment", &replicas);
    assert_eq!(
        m.json_error(),
        "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
    );
    assert_eq!(m.unstructured_error(), "unrecognized type: int32");
    let m = mismatch("apps/v1", "Deployment", &json!({"spec": {"replicas": 1.5}}));
    assert_eq!(
        m.json_error(),
        "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"
    );
    let m = mismatch(
        "apps/v1",
        "Deployment",
        &json!({"spec": {"replicas": 3_000_000_000_i64}}),
    );
    assert!(
        m.json_error().contains("number 3000000000"),
        "{}",
        m.json_error()
    );

    let m = mismatch("v1", "ConfigMap", &json!({"metadata": "x"}));
    assert_eq!(
        m.json_error(),
        "json: cannot unmarshal string into Go struct field ConfigMap.metadata of type v1.ObjectMeta"
    );
    assert_eq!(m.unstructured_error(), "cannot restore struct from: string");
    let m = mismatch("v1", "Pod", &json!({"spec": {"containers": {"name": "c"}}}));
    assert_eq!(
        m.json_error(),
        "json: cannot unmarshal object into Go struct field PodSpec.spec.containers of type []v1.Container"
    );
    assert_eq!(m.unstructured_error(), "cannot restore slice from map");
    // Fields of an embedded struct (VolumeSource in Volume) belong to the enclosing struct.
    let m = mismatch(
        "v1",
        "Pod",
        &json!({"spec": {"volumes": [{"name": "v", "hostPath": "x"}]}}),
    );
    assert_eq!(
        m.json_error(),
        "json: cannot unmarshal string into Go struct field Volume.spec.volumes.hostPath of type v1.HostPathVolumeSource"
    );
}

#[test]
fn types_with_their_own_json_form_are_read_as_kubernetes_reads_them() {
    let m = mismatch(
        "v1",
        "ConfigMap",
        &json!({"metadata": {"creationTimestamp": 5}}),
    );
    assert_eq!(
        m.json_error(),
        "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp of type string"
    );
    assert_eq!(
        m.unstructured_error(),
        "json: cannot unmarshal number into Go value of type string"
    );
    let m = mismatch(
        "v1",
        "ConfigMap",
        &json!({"metadata": {"creationTimestamp": "yesterday"}}),
    );
    assert!(m.json_error().starts_with("parsing time \"yesterday\""));
    let m = mismatch(
        "v1",
        "Pod",
        &json!({"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": "lots"}}}]}}),
    );
    assert!(
        m.json_error()
            .starts_with("quantities must match the regular expression"),
        "{}",
        m.json_error()
    );
    let m = mismatch(
        "v1",
        "Service",
        &json!({"spec": {"ports": [{"port": 80, "targetPort": {"x": 1}}]}}),
    );
    assert_eq!(
        m.json_error(),
        "json: cannot unmarshal object into Go struct field ServicePort.spec.ports.targetPort of type int32"
    );
    let m = mismatch("v1", "Secret", &json!({"data": {"k": "not base64!"}}));
    assert_eq!(m.json_error(), "illegal base64 data at input byte 3");
    assert_eq!(
        check(
            "v1",
            "Service",
            &json!({"spec": {"ports": [{"port": 80, "targetPort": "http"}]}})
        ),
        Ok(())
    );
    assert!(is_go_duration("1h2m3.5s") && is_go_duration("300ms") && is_go_duration("0"));
    assert!(!is_go_duration("1x") && !is_go_duration("") && !is_go_duration("h"));
}

#[test]
fn statuses_carry_kubernetes_codes_and_words() {
    let m = mismatch(
        "v1",
        "ConfigMap",
        &json!({"metadata": {"labels": "invalid"}}),
    );
    let status = not_decodable("ConfigMap", "v1", &m);
    assert_eq!(
        (status.code, status.reason),
        (400, crate::StatusReason::BadRequest)
    );
    assert_eq!(
        status.message,
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type map[string]string"
    );
    let patch = json!({"metadata": {"labels": "invalid"}});
    assert_eq!(go_format(&patch), "map[metadata:map[labels:invalid]]");
    let status = invalid_patch(&go_format(&patch), &m.unstructured_error());
    assert_eq!(
        (status.code, status.reason),
        (422, crate::StatusReason::Invalid)
    );
    assert_eq!(
        status.message,
        " \"\" is invalid: patch: Invalid value: \"map[metadata:map[labels:invalid]]\": cannot restore map from string"
    );
    let config = json!({"metadata": {"name": "c1", "labels": "invalid"}});
    let status = m.apply_refusal("v1", "ConfigMap", &config);
    assert_eq!(status.code, 400);
    assert_eq!(
        status.message,
        "failed to create typed patch object (/c1; /v1, Kind=ConfigMap): .metadata.labels: expected map, got \"invalid\""
    );
}
