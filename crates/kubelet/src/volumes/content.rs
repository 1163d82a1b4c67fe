//! The files of content volumes: configMap, secret, downwardAPI and projected (which combines those
//! with service-account tokens). Keys become files unless `items` pick and rename them.

use std::collections::BTreeMap;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::{DownwardAPIVolumeFile, KeyToPath, Pod, Volume};

use super::Sources;
use super::atomic::File;
use crate::pods::fields;
use crate::sources;

type Files = BTreeMap<String, File>;

const DEFAULT_MODE: i32 = 0o644;

/// The files of a content volume, or `None` when the volume is of another type.
pub async fn files(
    pod: &Pod,
    volume: &Volume,
    sources: &Sources<'_>,
) -> anyhow::Result<Option<Files>> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    let mut files = Files::new();
    if let Some(source) = &volume.config_map {
        let mode = source.default_mode.unwrap_or(DEFAULT_MODE);
        let data = sources::config_map(
            sources.client,
            namespace,
            source.name.as_str(),
            source.optional.unwrap_or(false),
        )
        .await?;
        add_keys(&mut files, data, source.items.as_deref(), mode)?;
    } else if let Some(source) = &volume.secret {
        let mode = source.default_mode.unwrap_or(DEFAULT_MODE);
        let name = source.secret_name.as_deref().unwrap_or_default();
        let data = sources::secret(
            sources.client,
            namespace,
            name,
            source.optional.unwrap_or(false),
        )
        .await?;
        add_keys(&mut files, data, source.items.as_deref(), mode)?;
    } else if let Some(source) = &volume.downward_api {
        let mode = source.default_mode.unwrap_or(DEFAULT_MODE);
        add_downward(
            &mut files,
            pod,
            source.items.as_deref().unwrap_or_default(),
            mode,
        )?;
    } else if let Some(projected) = &volume.projected {
        let mode = projected.default_mode.unwrap_or(DEFAULT_MODE);
        for source in projected.sources.iter().flatten() {
            if let Some(cm) = &source.config_map {
                let data = sources::config_map(
                    sources.client,
                    namespace,
                    cm.name.as_str(),
                    cm.optional.unwrap_or(false),
                )
                .await?;
                add_keys(&mut files, data, cm.items.as_deref(), mode)?;
            }
            if let Some(s) = &source.secret {
                let data = sources::secret(
                    sources.client,
                    namespace,
                    s.name.as_str(),
                    s.optional.unwrap_or(false),
                )
                .await?;
                add_keys(&mut files, data, s.items.as_deref(), mode)?;
            }
            if let Some(d) = &source.downward_api {
                add_downward(
                    &mut files,
                    pod,
                    d.items.as_deref().unwrap_or_default(),
                    mode,
                )?;
            }
            if let Some(t) = &source.service_account_token {
                let token = sources.tokens.get(sources.client, pod, t).await?;
                files.insert(
                    t.path.clone(),
                    File {
                        data: token.into_bytes(),
                        mode: mode_bits(mode),
                    },
                );
            }
        }
    } else {
        return Ok(None);
    }
    Ok(Some(files))
}

fn mode_bits(mode: i32) -> u32 {
    u32::try_from(mode).unwrap_or(0o644) & 0o777
}

/// Adds every key of `data`, or only `items` (renamed to their paths).
fn add_keys(
    files: &mut Files,
    data: BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    mode: i32,
) -> anyhow::Result<()> {
    match items {
        None => {
            for (key, value) in data {
                files.insert(
                    key,
                    File {
                        data: value,
                        mode: mode_bits(mode),
                    },
                );
            }
        }
        Some(items) => {
            for item in items {
                let value = data
                    .get(&item.key)
                    .with_context(|| format!("key {:?} does not exist", item.key))?;
                files.insert(
                    item.path.clone(),
                    File {
                        data: value.clone(),
                        mode: mode_bits(item.mode.unwrap_or(mode)),
                    },
                );
            }
        }
    }
    Ok(())
}

fn add_downward(
    files: &mut Files,
    pod: &Pod,
    items: &[DownwardAPIVolumeFile],
    mode: i32,
) -> anyhow::Result<()> {
    for item in items {
        let value = if let Some(field) = &item.field_ref {
            fields::field_value(pod, &field.field_path)?
        } else if let Some(resource) = &item.resource_field_ref {
            let container = resource.container_name.as_deref().unwrap_or_default();
            fields::resource_value(pod, container, resource)?
        } else {
            String::new()
        };
        files.insert(
            item.path.clone(),
            File {
                data: value.into_bytes(),
                mode: mode_bits(item.mode.unwrap_or(mode)),
            },
        );
    }
    Ok(())
}
