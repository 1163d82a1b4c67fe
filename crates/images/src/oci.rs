//! An image tarball that `ctr -n k8s.io images import` accepts, built in memory.
//!
//! The tarball is an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`), which
//! containerd prefers and imports with the names it finds in the index annotations — one index entry
//! per name, all pointing at the same manifest. It also carries Docker's `manifest.json`, so
//! `docker load` and other tools that only know `docker save` archives can load it too.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::blob::{Blob, Descriptor, sha256_hex};
use crate::config::{ContainerConfig, DEFAULT_PATH, ImageConfig, RootFs, host_platform};
use crate::error::{ImageError, Result};
use crate::layer::Layer;
use crate::reference::tag_of;

const MEDIA_TYPE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const MEDIA_TYPE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const MEDIA_TYPE_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// The annotation containerd names an imported image by.
pub const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
/// The OCI annotation for the tag of a manifest in a layout.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// What an image holds: its names, its single layer and how a container of it starts.
#[derive(Debug, Clone)]
pub struct ImageSpec {
    /// Fully qualified references (`docker.io/library/busybox:latest`), at least one.
    pub refs: Vec<String>,
    pub layer: Layer,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// `NAME=value` pairs; [`ImageSpec::new`] sets the usual `PATH`.
    pub env: Vec<String>,
    /// `uid[:gid]` or a name from the image's /etc/passwd; root when absent.
    pub user: Option<String>,
    pub working_dir: Option<String>,
}

impl ImageSpec {
    /// An image with these names and files, the default `PATH`, and nothing to run yet.
    pub fn new(refs: impl IntoIterator<Item = impl Into<String>>, layer: Layer) -> Self {
        Self {
            refs: refs.into_iter().map(Into::into).collect(),
            layer,
            entrypoint: Vec::new(),
            cmd: Vec::new(),
            env: vec![DEFAULT_PATH.to_owned()],
            user: None,
            working_dir: None,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Manifest<'a> {
    schema_version: u32,
    media_type: &'static str,
    config: Descriptor,
    layers: &'a [Descriptor],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Index {
    schema_version: u32,
    media_type: &'static str,
    manifests: Vec<Descriptor>,
}

#[derive(Serialize)]
struct OciLayout {
    #[serde(rename = "imageLayoutVersion")]
    version: &'static str,
}

/// One entry of `docker save`'s manifest.json.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifest<'a> {
    config: String,
    repo_tags: &'a [String],
    layers: Vec<String>,
}

/// The image tarball of `spec`; the same spec always gives the same bytes.
pub fn build(spec: &ImageSpec) -> Result<Vec<u8>> {
    let tags = tags(&spec.refs)?;
    let platform = host_platform();
    let encoded = spec.layer.encode()?;
    let layer = Blob::new(MEDIA_TYPE_LAYER, encoded.gzip);
    let config = Blob::json(
        MEDIA_TYPE_CONFIG,
        &ImageConfig {
            architecture: platform.architecture,
            os: platform.os,
            config: ContainerConfig {
                user: spec.user.as_deref(),
                env: &spec.env,
                entrypoint: &spec.entrypoint,
                cmd: &spec.cmd,
                working_dir: spec.working_dir.as_deref(),
            },
            rootfs: RootFs {
                kind: "layers",
                diff_ids: vec![format!("sha256:{}", sha256_hex(&encoded.tar))],
            },
        },
        "the image config",
    )?;
    let manifest = Blob::json(
        MEDIA_TYPE_MANIFEST,
        &Manifest {
            schema_version: 2,
            media_type: MEDIA_TYPE_MANIFEST,
            config: config.descriptor(),
            layers: &[layer.descriptor()],
        },
        "the image manifest",
    )?;
    let index = Index {
        schema_version: 2,
        media_type: MEDIA_TYPE_INDEX,
        manifests: spec
            .refs
            .iter()
            .zip(tags)
            .map(|(reference, tag)| Descriptor {
                annotations: BTreeMap::from([
                    (ANNOTATION_IMAGE_NAME, reference.clone()),
                    (ANNOTATION_REF_NAME, tag.to_owned()),
                ]),
                platform: Some(platform.clone()),
                ..manifest.descriptor()
            })
            .collect(),
    };
    let docker = [DockerManifest {
        config: config.path(),
        repo_tags: &spec.refs,
        layers: vec![layer.path()],
    }];

    let mut archive = Layer::new();
    archive.file(
        "oci-layout",
        json(&OciLayout { version: "1.0.0" }, "oci-layout")?,
        0o644,
    )?;
    archive.file("index.json", json(&index, "index.json")?, 0o644)?;
    archive.file("manifest.json", json(&docker, "manifest.json")?, 0o644)?;
    for blob in [layer, config, manifest] {
        archive.file(&blob.path(), blob.bytes, 0o644)?;
    }
    archive.to_tar()
}

/// The tag of each reference, refusing a missing or repeated one.
fn tags(refs: &[String]) -> Result<Vec<&str>> {
    if refs.is_empty() {
        return Err(ImageError::NoReference);
    }
    let mut seen = BTreeSet::new();
    refs.iter()
        .map(|reference| {
            if !seen.insert(reference) {
                return Err(ImageError::Reference {
                    reference: reference.clone(),
                    reason: "listed twice",
                });
            }
            tag_of(reference)
        })
        .collect()
}

fn json(value: &impl Serialize, what: &'static str) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|source| ImageError::Json { what, source })
}
