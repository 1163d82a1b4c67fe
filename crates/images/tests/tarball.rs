//! The image tarballs as containerd reads them: an OCI layout whose digests, names and config
//! agree with the blobs, plus Docker's manifest.json.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use k0rs_images::{
    BUSYBOX_IMAGE, ImageSpec, Layer, PAUSE_IMAGE, build, busybox_image, pause_image,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The files of a tarball by path (directories with no content).
fn unpack(tarball: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = tar::Archive::new(tarball);
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            (path, data)
        })
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

/// The blob a descriptor points at, after checking its digest and size against its bytes.
fn blob<'a>(files: &'a BTreeMap<String, Vec<u8>>, descriptor: &Value) -> &'a [u8] {
    let digest = descriptor["digest"].as_str().unwrap();
    let path = format!("blobs/sha256/{}", digest.strip_prefix("sha256:").unwrap());
    let bytes = files.get(&path).unwrap_or_else(|| panic!("{path} missing"));
    assert_eq!(sha256(bytes), digest, "{path}");
    assert_eq!(
        descriptor["size"].as_u64().unwrap(),
        bytes.len() as u64,
        "{path}"
    );
    bytes
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// The image, its manifest, config and uncompressed layer, checked for consistency.
struct Image {
    files: BTreeMap<String, Vec<u8>>,
    index: Value,
    config: Value,
    layer: BTreeMap<String, Vec<u8>>,
}

fn open(tarball: &[u8]) -> Image {
    let files = unpack(tarball);
    assert_eq!(files["oci-layout"], br#"{"imageLayoutVersion":"1.0.0"}"#);
    let index = json(&files["index.json"]);
    assert_eq!(index["schemaVersion"], 2);
    let manifests = index["manifests"].as_array().unwrap();
    assert!(!manifests.is_empty());
    let manifest = json(blob(&files, &manifests[0]));
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.oci.image.config.v1+json"
    );
    let config = json(blob(&files, &manifest["config"]));
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(
        layers[0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let layer_tar = gunzip(blob(&files, &layers[0]));
    assert_eq!(config["rootfs"]["type"], "layers");
    assert_eq!(
        config["rootfs"]["diff_ids"],
        serde_json::json!([sha256(&layer_tar)])
    );

    let docker = json(&files["manifest.json"]);
    let docker = &docker.as_array().unwrap()[0];
    let config_path = docker["Config"].as_str().unwrap();
    assert_eq!(files[config_path], blob(&files, &manifest["config"]));
    let layer_path = docker["Layers"][0].as_str().unwrap();
    assert_eq!(files[layer_path], blob(&files, &layers[0]));

    let layer = unpack(&layer_tar);
    Image {
        files,
        index,
        config,
        layer,
    }
}

fn small_spec() -> ImageSpec {
    let mut layer = Layer::new();
    layer
        .file("/app/run", b"#!/bin/sh\necho hi\n".to_vec(), 0o755)
        .unwrap();
    layer.symlink("/bin", "app").unwrap();
    let mut spec = ImageSpec::new(["docker.io/k0rs/app:1", "example.org/app:latest"], layer);
    spec.entrypoint = vec!["/app/run".into()];
    spec.cmd = vec!["--flag".into()];
    spec.working_dir = Some("/app".into());
    spec
}

#[test]
fn same_spec_gives_the_same_bytes() {
    assert_eq!(build(&small_spec()).unwrap(), build(&small_spec()).unwrap());
    assert_eq!(pause_image().unwrap(), pause_image().unwrap());
}

#[test]
fn the_tarball_is_an_oci_layout_with_a_docker_manifest() {
    let image = open(&build(&small_spec()).unwrap());
    let names: Vec<&str> = image.files.keys().map(String::as_str).collect();
    assert_eq!(names.len(), 8, "{names:?}");
    assert_eq!(&names[..2], ["blobs/", "blobs/sha256/"]);
    assert!(names[2..5].iter().all(|n| n.starts_with("blobs/sha256/")));
    assert_eq!(&names[5..], ["index.json", "manifest.json", "oci-layout"]);
    let docker = json(&image.files["manifest.json"]);
    assert_eq!(
        docker[0]["RepoTags"],
        serde_json::json!(["docker.io/k0rs/app:1", "example.org/app:latest"])
    );
}

#[test]
fn every_name_is_an_index_entry_for_the_same_manifest() {
    let image = open(&build(&small_spec()).unwrap());
    let manifests = image.index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 2);
    assert_eq!(manifests[0]["digest"], manifests[1]["digest"]);
    let names: Vec<_> = manifests
        .iter()
        .map(|m| {
            let a = &m["annotations"];
            (
                a["io.containerd.image.name"].as_str().unwrap(),
                a["org.opencontainers.image.ref.name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("docker.io/k0rs/app:1", "1"),
            ("example.org/app:latest", "latest")
        ]
    );
    assert_eq!(manifests[0]["platform"]["os"], "linux");
}

#[test]
fn the_config_has_the_platform_and_how_to_start() {
    let image = open(&build(&small_spec()).unwrap());
    let config = &image.config;
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    assert_eq!(config["architecture"], arch);
    assert_eq!(config["os"], "linux");
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/app/run"])
    );
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["--flag"]));
    assert_eq!(config["config"]["WorkingDir"], "/app");
    assert_eq!(
        config["config"]["Env"],
        serde_json::json!([k0rs_images::DEFAULT_PATH])
    );
    assert!(config["config"].get("User").is_none());
    let layer: Vec<&str> = image.layer.keys().map(String::as_str).collect();
    assert_eq!(layer, ["app/", "app/run", "bin"]);
}

#[test]
fn the_pause_image_runs_the_static_pause_program_as_65535() {
    let image = open(&pause_image().unwrap());
    let manifests = image.index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 1);
    assert_eq!(
        manifests[0]["annotations"]["io.containerd.image.name"],
        PAUSE_IMAGE
    );
    assert_eq!(
        image.config["config"]["Entrypoint"],
        serde_json::json!(["/pause"])
    );
    assert_eq!(image.config["config"]["User"], "65535:65535");
    assert_eq!(image.layer.keys().collect::<Vec<_>>(), ["pause"]);
    assert_eq!(image.layer["pause"], k0rs_images::PAUSE_BINARY);
}

#[test]
fn the_busybox_image_has_a_shell() {
    let busybox = Path::new("/bin/busybox");
    // scripts/test installs Debian's busybox-static: a missing one is a broken host, not a pass.
    let tarball = busybox_image(busybox).unwrap_or_else(|err| {
        panic!("no static busybox at /bin/busybox (Debian's busybox-static): {err}")
    });
    let image = open(&tarball);
    let names: Vec<_> = image.index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["annotations"]["io.containerd.image.name"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(names, [BUSYBOX_IMAGE, "docker.io/library/busybox:1.35"]);
    assert_eq!(image.config["config"]["Cmd"], serde_json::json!(["sh"]));
    for path in [
        "bin/busybox",
        "bin/sh",
        "bin/ls",
        "tmp/",
        "root/",
        "var/www/",
        "etc/passwd",
        "etc/group",
    ] {
        assert!(image.layer.contains_key(path), "{path} missing");
    }
}

#[test]
fn short_or_missing_names_are_refused() {
    let mut spec = small_spec();
    spec.refs = vec!["busybox:latest".into()];
    let err = build(&spec).unwrap_err().to_string();
    assert!(
        err.contains("\"busybox:latest\": not fully qualified"),
        "{err}"
    );
    spec.refs.clear();
    assert!(build(&spec).is_err());
    spec.refs = vec!["docker.io/a/b:1".into(), "docker.io/a/b:1".into()];
    assert!(
        build(&spec)
            .unwrap_err()
            .to_string()
            .contains("listed twice")
    );
}
