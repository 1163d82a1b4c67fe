//! The node agent: on every controller and worker, it watches the node's own object (ControlNode
//! or Node) for a signal from the plan's leader and carries it out — download (resumed), check
//! the SHA-256 and the signature, then either import an airgap bundle, or put the new k0rs binary
//! in place, start the guard ([`guard`]) and restart k0rs on the new binary. After the restart,
//! the new process finds the restart marker, waits until the node is healthy and reports
//! `Completed`; if it cannot, the guard puts the previous binary back and the restarted old k0rs
//! reports `RolledBack`. Progress is written into the signal's status, which the leader reads.

mod control_node;
mod download;
pub mod guard;
mod health;
mod install;
mod marker;
mod object;

use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::NodeAddress;
use kube::Client;

pub use control_node::arch;
pub use install::previous_of;
pub use marker::{Marker, Phase, interrupt};
pub use object::SignalObject;

use crate::net::HttpClient;
use crate::plan::same_version;
use crate::signal::{Progress, SignalData, SignalStatus};
use crate::signature::TrustedKeys;

/// What the agent reads from the cluster's configuration for every signal.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `spec.autopilot.trustedKeys`: with keys, an artifact must carry a signature by one.
    pub trusted_keys: Vec<String>,
    /// `spec.autopilot.healthTimeout`.
    pub health_timeout: Duration,
}

/// What the agent asks of the k0rs it runs in.
#[async_trait::async_trait]
pub trait NodeHost: Send + Sync {
    /// The settings now (a worker reads what the controllers publish).
    async fn settings(&self) -> anyhow::Result<Settings>;
    /// Keeps an airgap bundle among the node's image bundles and imports it; the images' names.
    async fn import_bundle(&self, bundle: &Path, version: &str) -> anyhow::Result<Vec<String>>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Controller,
    Worker,
}

/// One node's agent.
pub struct Agent {
    pub role: Role,
    /// The ControlNode's or the Node's name.
    pub name: String,
    /// `<data-dir>/autopilot`: downloads and the restart marker.
    pub dir: PathBuf,
    /// The k0rs binary this process runs (read at start: after a replacement, /proc/self/exe
    /// names the kept previous binary).
    pub binary: PathBuf,
    /// This process's command line, to restart with.
    pub argv: Vec<OsString>,
    /// The version this process runs.
    pub version: String,
    /// A service manager restarts k0rs when it exits.
    pub service_managed: bool,
    /// A controller's addresses for its ControlNode.
    pub addresses: Vec<NodeAddress>,
}

/// A step that stopped the signal: what to report.
struct Failure {
    progress: Progress,
    description: String,
}

impl Failure {
    fn new(progress: Progress, description: impl std::fmt::Display) -> Self {
        Self {
            progress,
            description: description.to_string(),
        }
    }
}

impl Agent {
    /// Runs until dropped.
    pub async fn run(self, client: Client, host: Arc<dyn NodeHost>) {
        let object = match self.role {
            Role::Controller => SignalObject::controller(client.clone(), &self.name),
            Role::Worker => SignalObject::worker(client.clone(), &self.name),
        };
        if self.role == Role::Controller {
            self.register(&client).await;
        }
        if let Some(marker) = Marker::read(&self.dir) {
            self.finish_restart(&client, &object, marker).await;
        }
        let http = match crate::net::client() {
            Ok(http) => http,
            Err(error) => {
                tracing::error!(component = "autopilot", %error, "no HTTPS client: this node takes no update");
                return;
            }
        };
        let mut changes = object.changes();
        // The signal last carried out: the agent's own reports change the object too, and
        // those changes must not start the same signal again.
        let mut handled: Option<(String, u32, String)> = None;
        while let Some(annotations) = changes.next().await {
            let signal = match SignalData::from_annotations(&annotations) {
                None => continue,
                Some(Err(error)) => {
                    tracing::warn!(component = "autopilot", node = self.name, %error, "ignoring the node's signal");
                    continue;
                }
                Some(Ok(signal)) => signal,
            };
            // A final status is done with; anything else is (again) to do: a signal whose
            // work a crash interrupted is taken up anew, and its download resumed.
            if signal.progress().is_some_and(Progress::is_final) {
                continue;
            }
            let key = (
                signal.plan_id.clone(),
                signal.command.id,
                signal.created.clone(),
            );
            if handled.as_ref() == Some(&key) {
                continue;
            }
            handled = Some(key);
            if let Err(failure) = self.apply(&object, &http, host.as_ref(), &signal).await {
                tracing::warn!(component = "autopilot", node = self.name, status = %failure.progress, reason = failure.description, "update failed");
                self.report(&object, &signal, failure.progress, &failure.description)
                    .await;
            }
        }
    }

    async fn register(&self, client: &Client) {
        let mut wait = Duration::from_millis(250);
        loop {
            match control_node::register(client, &self.name, &self.version, &self.addresses).await {
                Ok(()) => return,
                Err(error) => {
                    tracing::debug!(component = "autopilot", %error, "cannot write the ControlNode yet");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    async fn report(
        &self,
        object: &SignalObject,
        signal: &SignalData,
        progress: Progress,
        description: &str,
    ) {
        let mut wait = Duration::from_millis(250);
        for _ in 0..20 {
            match object
                .report(signal, SignalStatus::now(progress, description))
                .await
            {
                Ok(()) => return,
                Err(error) => {
                    tracing::debug!(component = "autopilot", %error, "cannot report yet");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
        tracing::warn!(component = "autopilot", node = self.name, %progress, "could not report the update's progress");
    }

    /// The signal this node carries now, if it is the one `marker` is about.
    async fn current_signal(&self, object: &SignalObject, marker: &Marker) -> Option<SignalData> {
        let mut wait = Duration::from_millis(250);
        loop {
            match object.annotations().await {
                Ok(annotations) => {
                    return annotations
                        .as_ref()
                        .and_then(SignalData::from_annotations)
                        .and_then(Result::ok)
                        .filter(|s| s.is_for(&marker.plan_id, marker.command_id));
                }
                Err(error) => {
                    tracing::debug!(component = "autopilot", %error, "cannot read the node's signal yet");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// After a restart for an update: wait until healthy and report it, or report the rollback.
    async fn finish_restart(&self, client: &Client, object: &SignalObject, marker: Marker) {
        let outcome = match marker.phase {
            Phase::RolledBack => Err(format!(
                "{}; back on {}",
                marker.reason, marker.previous_version
            )),
            Phase::Restarting | Phase::Interrupted
                if !same_version(&self.version, &marker.version) =>
            {
                Err(format!(
                    "k0rs restarted on {} instead of {}",
                    self.version, marker.version
                ))
            }
            Phase::Restarting | Phase::Interrupted => {
                if marker.phase == Phase::Interrupted || !marker.is_this_process() {
                    // No guard watches this start (k0rs was stopped, or died before its guard
                    // ran): arm one, with a new deadline.
                    self.rearm_guard(marker.clone());
                }
                tracing::info!(
                    component = "autopilot",
                    version = self.version,
                    "restarted on the new version; waiting until healthy"
                );
                loop {
                    let healthy = match self.role {
                        Role::Controller => {
                            health::controller(client, &self.name, &self.version).await
                        }
                        Role::Worker => health::worker(client, &self.name, &self.version).await,
                    };
                    if healthy {
                        break;
                    }
                    // Past the deadline the guard ends this process; nothing to do here.
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                tracing::info!(
                    component = "autopilot",
                    from = marker.previous_version,
                    to = self.version,
                    "updated; healthy"
                );
                Ok(format!(
                    "updated from {} to {}",
                    marker.previous_version, self.version
                ))
            }
        };
        // Done with, either way; a guard watching a healthy start leaves once it is gone.
        Marker::remove(&self.dir);
        let Some(signal) = self.current_signal(object, &marker).await else {
            tracing::warn!(
                component = "autopilot",
                plan = marker.plan_id,
                "the node no longer carries the signal of the update it restarted for"
            );
            return;
        };
        match outcome {
            Ok(description) => {
                self.report(object, &signal, Progress::Completed, &description)
                    .await;
            }
            Err(reason) => {
                tracing::warn!(
                    component = "autopilot",
                    reason,
                    "the update was rolled back"
                );
                self.report(object, &signal, Progress::RolledBack, &reason)
                    .await;
            }
        }
    }

    fn rearm_guard(&self, mut marker: Marker) {
        let armed = marker.rearm().is_some()
            && marker.write(&self.dir).is_ok()
            && guard::start(&marker.previous, &self.dir).is_ok();
        if armed {
            tracing::info!(
                component = "autopilot",
                deadline = marker.deadline,
                "guarding this start on the new binary"
            );
        } else {
            tracing::warn!(
                component = "autopilot",
                "cannot guard this start on the new binary: no rollback if it fails"
            );
        }
    }

    async fn apply(
        &self,
        object: &SignalObject,
        http: &HttpClient,
        host: &dyn NodeHost,
        signal: &SignalData,
    ) -> Result<(), Failure> {
        let Some(update) = signal.command.update() else {
            return Err(Failure::new(
                Progress::ApplyFailed,
                "the signal names no update",
            ));
        };
        let binary_update = signal.command.k0s_update.is_some();
        if binary_update && !update.force_update && same_version(&self.version, &update.version) {
            self.report(
                object,
                signal,
                Progress::Completed,
                &format!("already at {}", update.version),
            )
            .await;
            return Ok(());
        }
        tracing::info!(
            component = "autopilot",
            node = self.name,
            plan = signal.plan_id,
            version = update.version,
            url = update.url,
            "update signalled"
        );
        self.report(object, signal, Progress::Downloading, "").await;
        let settings = host
            .settings()
            .await
            .map_err(|e| Failure::new(Progress::ApplyFailed, format!("{e:#}")))?;
        let keys = TrustedKeys::parse(&settings.trusted_keys)
            .map_err(|e| Failure::new(Progress::FailedVerification, e))?;
        let kind = if binary_update { "k0rs" } else { "bundle" };
        let name = format!("{kind}-{}", file_safe(&update.version));
        let downloads = self.dir.join("downloads");
        let path = fetch_with_retries(http, &update.url, &update.sha256, &downloads, &name)
            .await
            .map_err(|e| Failure::new(Progress::FailedDownload, e))?;
        let verified = self
            .verify(http, &keys, &path, &update.url, &update.signature)
            .await;
        if let Err(failure) = verified {
            // Nothing unverified is kept, nor resumed from.
            let _ = std::fs::remove_file(&path);
            return Err(failure);
        }
        if !binary_update {
            let images = host
                .import_bundle(&path, &update.version)
                .await
                .map_err(|e| Failure::new(Progress::ApplyFailed, format!("{e:#}")))?;
            let _ = std::fs::remove_file(&path);
            self.report(
                object,
                signal,
                Progress::Completed,
                &format!("imported {}", images.join(", ")),
            )
            .await;
            return Ok(());
        }
        self.report(object, signal, Progress::ApplyingUpdate, "")
            .await;
        self.replace_and_restart(
            object,
            signal,
            &path,
            &update.version,
            settings.health_timeout,
        )
        .await
    }

    async fn verify(
        &self,
        http: &HttpClient,
        keys: &TrustedKeys,
        path: &Path,
        url: &str,
        signature_url: &str,
    ) -> Result<(), Failure> {
        if keys.is_empty() {
            if !signature_url.is_empty() {
                tracing::warn!(
                    component = "autopilot",
                    url,
                    "signature not checked: spec.autopilot.trustedKeys names no key"
                );
            }
            return Ok(());
        }
        if signature_url.is_empty() {
            return Err(Failure::new(
                Progress::FailedVerification,
                format!(
                    "{url} is unsigned (the plan gives no signature), and spec.autopilot.trustedKeys requires one"
                ),
            ));
        }
        let signature = download::fetch_text(http, signature_url)
            .await
            .map_err(|e| {
                Failure::new(
                    Progress::FailedVerification,
                    format!("cannot fetch the signature: {e}"),
                )
            })?;
        let file = std::fs::File::open(path)
            .map_err(|e| Failure::new(Progress::ApplyFailed, format!("{}: {e}", path.display())))?;
        let key = keys
            .verify(file, &signature)
            .map_err(|e| Failure::new(Progress::FailedVerification, format!("{url}: {e}")))?;
        tracing::info!(component = "autopilot", url, key, "signature verified");
        Ok(())
    }

    /// Puts the new binary in place, starts the guard and execs it; returns only on failure.
    async fn replace_and_restart(
        &self,
        object: &SignalObject,
        signal: &SignalData,
        new: &Path,
        version: &str,
        health_timeout: Duration,
    ) -> Result<(), Failure> {
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            Failure::new(Progress::ApplyFailed, format!("{what}: {e}"))
        };
        if let Ok(bytes) = std::fs::read(new) {
            match k0rs_version::read_stamp(&bytes) {
                Ok(stamped) if !same_version(&stamped, version) => {
                    return Err(Failure::new(
                        Progress::ApplyFailed,
                        format!("the binary says it is version {stamped}, the plan says {version}"),
                    ));
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(component = "autopilot", %error, "the new binary carries no k0rs version");
                }
            }
        }
        let Some((pid, start_time)) = marker::own_process() else {
            return Err(Failure::new(
                Progress::ApplyFailed,
                "cannot read this process's start time",
            ));
        };
        let previous = previous_of(&self.binary);
        let timeout = i64::try_from(health_timeout.as_secs()).unwrap_or(i64::MAX);
        let marker = Marker {
            phase: Phase::Restarting,
            plan_id: signal.plan_id.clone(),
            command_id: signal.command.id,
            version: version.to_owned(),
            previous_version: self.version.clone(),
            binary: self.binary.clone(),
            previous: previous.clone(),
            argv: self.argv.clone(),
            pid,
            start_time,
            deadline: chrono::Utc::now().timestamp().saturating_add(timeout),
            timeout_seconds: timeout,
            service_managed: self.service_managed,
            reason: String::new(),
        };
        // The marker first: a k0rs that dies between here and the exec finds it at its next
        // start (and guards that start, or reports the update as not done).
        marker
            .write(&self.dir)
            .map_err(|e| failed("cannot write the restart marker", &e))?;
        if let Err(error) = install::install(new, &self.binary) {
            Marker::remove(&self.dir);
            return Err(failed(
                &format!("cannot replace {}", self.binary.display()),
                &error,
            ));
        }
        let _ = std::fs::remove_file(new);
        let undo = |failure: Failure| {
            Marker::remove(&self.dir);
            if let Err(error) = install::restore(&previous, &self.binary) {
                tracing::error!(component = "autopilot", %error, "cannot put the previous binary back");
            }
            failure
        };
        // The guard before anything that may take time (the report retries for a while).
        guard::start(&previous, &self.dir)
            .map_err(|e| undo(failed("cannot start the guard", &e)))?;
        self.report(object, signal, Progress::Restart, "").await;
        tracing::info!(component = "autopilot", from = self.version, to = version, binary = %self.binary.display(), deadline_s = timeout, "restarting on the new binary");
        let (program, args) = self
            .argv
            .split_first()
            .map_or((OsString::from("k0rs"), &[][..]), |(p, a)| (p.clone(), a));
        let error = std::process::Command::new(&self.binary)
            .arg0(program)
            .args(args)
            .exec();
        Err(undo(failed("cannot restart on the new binary", &error)))
    }
}

/// How often a download is tried before the node reports `FailedDownload`; each try resumes
/// where the last one stopped.
const DOWNLOAD_ATTEMPTS: u32 = 5;

async fn fetch_with_retries(
    http: &HttpClient,
    url: &str,
    sha256: &str,
    dir: &Path,
    name: &str,
) -> Result<PathBuf, download::DownloadError> {
    let mut wait = Duration::from_secs(1);
    let mut attempt = 1;
    loop {
        match download::fetch(http, url, sha256, dir, name).await {
            Ok(path) => return Ok(path),
            // A wrong checksum does not get better by trying again.
            Err(error @ download::DownloadError::Checksum { .. }) => return Err(error),
            Err(error) if attempt >= DOWNLOAD_ATTEMPTS => return Err(error),
            Err(error) => {
                tracing::warn!(component = "autopilot", %error, attempt, "download failed; trying again");
                tokio::time::sleep(wait).await;
                wait *= 2;
                attempt += 1;
            }
        }
    }
}

/// A version as part of a file name (`v1.28.15+k0rs.1` → `v1.28.15_k0rs.1`).
pub fn file_safe(version: &str) -> String {
    version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
