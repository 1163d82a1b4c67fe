//! Bodies encoded by hand the way client-go encodes them.

use serde_json::json;

use super::*;

fn field(out: &mut Vec<u8>, tag: u32, bytes: &[u8]) {
    varint(out, u64::from(tag) << 3 | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn varint_field(out: &mut Vec<u8>, tag: u32, value: u64) {
    varint(out, u64::from(tag) << 3);
    varint(out, value);
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(u8::try_from(v & 0x7f).unwrap() | 0x80);
        v >>= 7;
    }
    out.push(u8::try_from(v).unwrap());
}

fn envelope(api_version: &str, kind: &str, object: &[u8]) -> Vec<u8> {
    let mut type_meta = Vec::new();
    field(&mut type_meta, 1, api_version.as_bytes());
    field(&mut type_meta, 2, kind.as_bytes());
    let mut unknown = Vec::new();
    field(&mut unknown, 1, &type_meta);
    field(&mut unknown, 2, object);
    field(&mut unknown, 3, b"");
    field(&mut unknown, 4, b"");
    let mut body = MAGIC.to_vec();
    body.extend(unknown);
    body
}

/// ObjectMeta as Go writes it: every non-pointer field, most of them empty.
fn metadata(name: &str) -> Vec<u8> {
    let mut meta = Vec::new();
    field(&mut meta, 1, name.as_bytes());
    field(&mut meta, 2, b""); // generateName
    field(&mut meta, 3, b""); // namespace
    varint_field(&mut meta, 7, 0); // generation
    field(&mut meta, 8, &[]); // creationTimestamp: the zero Time
    let mut labels = Vec::new();
    field(&mut labels, 1, b"app");
    field(&mut labels, 2, b"web");
    field(&mut meta, 11, &labels);
    meta
}

#[test]
fn a_configmap_decodes_to_its_json() {
    let mut cm = Vec::new();
    field(&mut cm, 1, &metadata("demo"));
    for (k, v) in [("a", "1"), ("b", "two")] {
        let mut entry = Vec::new();
        field(&mut entry, 1, k.as_bytes());
        field(&mut entry, 2, v.as_bytes());
        field(&mut cm, 2, &entry);
    }
    let mut binary = Vec::new();
    field(&mut binary, 1, b"bin");
    field(&mut binary, 2, &[0, 1, 2]);
    field(&mut cm, 3, &binary);
    varint_field(&mut cm, 4, 0); // immutable: false, set
    let object = decode(&envelope("v1", "ConfigMap", &cm)).unwrap();
    assert_eq!(
        object,
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": { "name": "demo", "generation": 0, "labels": { "app": "web" } },
            "data": { "a": "1", "b": "two" },
            "binaryData": { "bin": "AAEC" },
            "immutable": false,
        })
    );
}

#[test]
fn embedded_structs_int_or_strings_and_quantities_take_their_json_shape() {
    // A Deployment whose pod template has a volume (VolumeSource is embedded in Volume) and a
    // container with a memory limit; the strategy's maxSurge is an IntOrString.
    let mut empty_dir = Vec::new();
    field(&mut empty_dir, 1, b""); // medium
    let mut source = Vec::new();
    field(&mut source, 2, &empty_dir); // emptyDir
    let mut volume = Vec::new();
    field(&mut volume, 1, b"scratch");
    field(&mut volume, 2, &source);
    let mut quantity = Vec::new();
    field(&mut quantity, 1, b"64Mi");
    let mut limit = Vec::new();
    field(&mut limit, 1, b"memory");
    field(&mut limit, 2, &quantity);
    let mut resources = Vec::new();
    field(&mut resources, 1, &limit); // limits
    let mut container = Vec::new();
    field(&mut container, 1, b"web");
    field(&mut container, 2, b"busybox");
    field(&mut container, 8, &resources);
    let mut pod_spec = Vec::new();
    field(&mut pod_spec, 1, &volume);
    field(&mut pod_spec, 2, &container);
    let mut template = Vec::new();
    field(&mut template, 2, &pod_spec);
    let mut surge = Vec::new();
    varint_field(&mut surge, 1, 1);
    field(&mut surge, 3, b"25%");
    let mut rolling = Vec::new();
    field(&mut rolling, 2, &surge);
    let mut strategy = Vec::new();
    field(&mut strategy, 1, b"RollingUpdate");
    field(&mut strategy, 2, &rolling);
    let mut spec = Vec::new();
    varint_field(&mut spec, 1, 0); // replicas: 0, a pointer that is set
    field(&mut spec, 3, &template);
    field(&mut spec, 4, &strategy);
    let mut deployment = Vec::new();
    field(&mut deployment, 1, &metadata("web"));
    field(&mut deployment, 2, &spec);
    let object = decode(&envelope("apps/v1", "Deployment", &deployment)).unwrap();
    assert_eq!(object["spec"]["replicas"], 0);
    assert_eq!(
        object["spec"]["strategy"]["rollingUpdate"]["maxSurge"],
        "25%"
    );
    let pod = &object["spec"]["template"]["spec"];
    assert_eq!(
        pod["volumes"][0],
        json!({ "name": "scratch", "emptyDir": {} })
    );
    assert_eq!(
        pod["containers"][0]["resources"]["limits"]["memory"],
        "64Mi"
    );
}

#[test]
fn reviews_and_bad_bodies() {
    let body = envelope("authentication.k8s.io/v1", "SelfSubjectReview", &{
        let mut review = Vec::new();
        field(&mut review, 1, &metadata(""));
        review
    });
    let review = decode(&body).unwrap();
    assert_eq!(review["kind"], "SelfSubjectReview");
    assert_eq!(
        review["metadata"],
        json!({ "generation": 0, "labels": { "app": "web" } })
    );

    assert_eq!(decode(b"{}"), Err(DecodeError::Magic));
    assert!(matches!(
        decode(&envelope("v1", "NoSuchKind", b"")),
        Err(DecodeError::UnknownKind { .. })
    ));
    let mut cut = envelope("v1", "ConfigMap", &metadata("x"));
    cut.truncate(cut.len() - 3);
    assert!(matches!(decode(&cut), Err(DecodeError::Malformed(_))));
}
