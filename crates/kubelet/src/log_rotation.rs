//! Container log rotation (the kubelet's containerLogMaxSize / containerLogMaxFiles): a running
//! container's log file that grew past the limit is renamed with a timestamp suffix and the
//! runtime reopens it; the oldest rotated files beyond the limit are deleted. `kubectl logs`
//! reads the current file, as with the kubelet.

use std::path::{Path, PathBuf};
use std::time::Duration;

use k0rs_cri::{Cri, api};

const CHECK_EVERY: Duration = Duration::from_secs(10);

/// `--container-log-max-size` and `--container-log-max-files`.
#[derive(Debug, Clone)]
pub struct LogPolicy {
    pub max_bytes: u64,
    /// Files kept per container, the current one included (at least 2).
    pub max_files: usize,
}

impl Default for LogPolicy {
    fn default() -> Self {
        Self {
            max_bytes: 10 * 1024 * 1024,
            max_files: 5,
        }
    }
}

/// Rotates logs until dropped.
pub async fn run(cri: Cri, policy: LogPolicy) {
    let mut tick = tokio::time::interval(CHECK_EVERY);
    loop {
        tick.tick().await;
        let Ok(containers) = Box::pin(cri.list_containers(None)).await else {
            continue;
        };
        let running = api::ContainerState::ContainerRunning as i32;
        for container in containers.iter().filter(|c| c.state == running) {
            let Ok(status) = Box::pin(cri.container_status(&container.id)).await else {
                continue;
            };
            let path = PathBuf::from(&status.log_path);
            if status.log_path.is_empty()
                || std::fs::metadata(&path).map_or(0, |m| m.len()) <= policy.max_bytes
            {
                continue;
            }
            if let Err(error) = rotate(&cri, &container.id, &path, &policy).await {
                tracing::warn!(
                    component = "kubelet",
                    container = container.id,
                    error = format!("{error:#}"),
                    "cannot rotate a container log"
                );
            }
        }
    }
}

async fn rotate(cri: &Cri, id: &str, path: &Path, policy: &LogPolicy) -> anyhow::Result<()> {
    let stamp = k8s_openapi::chrono::Utc::now().format("%Y%m%d-%H%M%S%.f");
    let rotated = PathBuf::from(format!("{}.{stamp}", path.display()));
    std::fs::rename(path, &rotated)?;
    // The runtime keeps writing to the renamed file until it reopens the path.
    Box::pin(cri.reopen_container_log(id)).await?;
    let name = path
        .file_name()
        .map(|n| format!("{}.", n.to_string_lossy()))
        .unwrap_or_default();
    let mut older: Vec<PathBuf> = std::fs::read_dir(path.parent().unwrap_or(Path::new("/")))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&name))
        })
        .collect();
    // Timestamp suffixes sort by time; the newest ones are kept.
    older.sort();
    let keep = policy.max_files.max(2) - 1;
    let excess = older.len().saturating_sub(keep);
    for old in older.into_iter().take(excess) {
        std::fs::remove_file(&old)?;
    }
    Ok(())
}
