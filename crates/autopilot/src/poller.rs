//! The pure part of the channel poller: given an UpdateConfig, the channel's index, the version
//! the cluster runs, the current `autopilot` Plan and the time, whether to create a Plan and
//! which. The loop that fetches the index and writes the Plan lives with the controllers; this is
//! everything it decides, so it is tested without a cluster.
//!
//! k0s's order of checks: a newer version, then the window, then no Plan still running (any state
//! but `Completed` blocks, as in k0s: a failed plan waits for an operator to delete it).

use chrono::{DateTime, TimeZone};

use crate::api::{
    AirgapUpdate, Discovery, K0sUpdate, PLAN_NAME, Plan, PlanCommand, PlanSpec, PlanState,
    PlanTemplateCommand, Platforms, ResourceUrl, Selector, Target, Targets, UpdateConfig,
};
use crate::channel::{ChannelIndex, ReleaseVersion, VersionError, resolve};
use crate::window::{Schedule, WindowError};

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("the channel's version: {0}")]
    Offered(#[source] VersionError),
    #[error("the cluster's version: {0}")]
    Running(#[source] VersionError),
    #[error("UpdateConfig {name}: {source}")]
    Strategy {
        name: String,
        #[source]
        source: WindowError,
    },
}

/// What the poller does this time.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Create (or replace the completed) `autopilot` Plan with this one.
    Create(Box<Plan>),
    /// The channel offers nothing newer than what runs.
    UpToDate { offered: String, running: String },
    /// A newer version waits for the window, which next opens then (`None`: never).
    WindowClosed {
        offered: String,
        next_open: Option<String>,
    },
    /// A Plan is still in progress (or failed and was left for an operator).
    PlanInProgress { state: PlanState },
}

pub struct Poll<'a, Tz: TimeZone> {
    pub config: &'a UpdateConfig,
    pub index: &'a ChannelIndex,
    /// Where the index was read from: relative artifact URLs resolve against it.
    pub index_url: &'a str,
    /// The version the cluster runs (that of the controller polling, as in k0s).
    pub running: &'a str,
    /// The current `autopilot` Plan, if there is one.
    pub plan: Option<&'a Plan>,
    pub now: DateTime<Tz>,
}

pub fn decide<Tz: TimeZone>(poll: &Poll<'_, Tz>) -> Result<Decision, PollError>
where
    Tz::Offset: std::fmt::Display,
{
    let offered = ReleaseVersion::parse(&poll.index.version).map_err(PollError::Offered)?;
    let running = ReleaseVersion::parse(poll.running).map_err(PollError::Running)?;
    if !offered.is_newer_than(&running) {
        return Ok(Decision::UpToDate {
            offered: poll.index.version.clone(),
            running: poll.running.to_owned(),
        });
    }
    let schedule = Schedule::parse(&poll.config.spec.upgrade_strategy).map_err(|source| {
        PollError::Strategy {
            name: poll.config.metadata.name.clone().unwrap_or_default(),
            source,
        }
    })?;
    if !schedule.is_open(&poll.now) {
        return Ok(Decision::WindowClosed {
            offered: poll.index.version.clone(),
            next_open: schedule.next_open(&poll.now).map(|t| t.to_rfc3339()),
        });
    }
    if let Some(state) = poll
        .plan
        .map(|p| p.status.as_ref().map(|s| s.state).unwrap_or_default())
        .filter(|state| *state != PlanState::Completed)
    {
        return Ok(Decision::PlanInProgress { state });
    }
    Ok(Decision::Create(Box::new(plan_for(
        poll.config,
        poll.index,
        poll.index_url,
        poll.now.timestamp(),
    ))))
}

/// The `autopilot` Plan for the channel's version: the UpdateConfig's `planSpec` with the version
/// and each platform's URLs filled in; without commands, k0s's default — update every controller,
/// then every worker.
pub fn plan_for(
    config: &UpdateConfig,
    index: &ChannelIndex,
    index_url: &str,
    unix_seconds: i64,
) -> Plan {
    let (binaries, bundles) = platforms(index, index_url);
    let version = index.version.clone();
    let templates = &config.spec.plan_spec.commands;
    let commands = if templates
        .iter()
        .any(|c| c.k0s_update.is_some() || c.airgap_update.is_some())
    {
        templates
            .iter()
            .map(|template| command_from(template, &version, &binaries, &bundles))
            .collect()
    } else {
        let everyone = || Target {
            discovery: Discovery {
                selector: Some(Selector::default()),
                ..Discovery::default()
            },
            limits: None,
        };
        vec![PlanCommand {
            k0s_update: Some(K0sUpdate {
                version,
                force_update: false,
                platforms: binaries,
                targets: Targets {
                    controllers: Some(everyone()),
                    workers: Some(everyone()),
                },
            }),
            airgap_update: None,
        }]
    };
    Plan::new(
        PLAN_NAME,
        PlanSpec {
            id: unix_seconds.to_string(),
            timestamp: unix_seconds.to_string(),
            commands,
        },
    )
}

fn command_from(
    template: &PlanTemplateCommand,
    version: &str,
    binaries: &Platforms,
    bundles: &Platforms,
) -> PlanCommand {
    PlanCommand {
        k0s_update: template.k0s_update.as_ref().map(|t| K0sUpdate {
            version: version.to_owned(),
            force_update: t.force_update,
            platforms: binaries.clone(),
            targets: t.targets.clone(),
        }),
        airgap_update: template.airgap_update.as_ref().map(|t| AirgapUpdate {
            version: version.to_owned(),
            platforms: bundles.clone(),
            workers: t.workers.clone(),
        }),
    }
}

/// The binaries and the airgap bundles of each platform of the index (platforms without a
/// bundle have none).
fn platforms(index: &ChannelIndex, index_url: &str) -> (Platforms, Platforms) {
    let url = |href: &str| resolve(index_url, href);
    let mut binaries = Platforms::new();
    let mut bundles = Platforms::new();
    for download in &index.download_urls {
        binaries.insert(
            download.platform(),
            ResourceUrl {
                url: url(&download.binary),
                sha256: download.binary_sha256.clone(),
                signature: url(&download.binary_signature),
            },
        );
        if !download.airgap_bundle.is_empty() {
            bundles.insert(
                download.platform(),
                ResourceUrl {
                    url: url(&download.airgap_bundle),
                    sha256: download.airgap_sha256.clone(),
                    signature: url(&download.airgap_signature),
                },
            );
        }
    }
    (binaries, bundles)
}

#[cfg(test)]
#[path = "poller_tests.rs"]
mod tests;
