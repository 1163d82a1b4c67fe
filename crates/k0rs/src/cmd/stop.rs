//! `k0rs stop`: stop the k0rs service `k0rs install` set up, through the host's service manager.

use crate::service::{Host, Role, ServiceState};

pub fn run() -> anyhow::Result<()> {
    anyhow::ensure!(
        nix::unistd::geteuid().is_root(),
        "this command must be run as root"
    );
    let host = Host::detect()?;
    let role = installed_role(&host)?;
    // k0s's answers for a service that is not running.
    match host.state(role)? {
        ServiceState::Stopped => anyhow::bail!("already stopped"),
        ServiceState::Failed => anyhow::bail!("service in failed state"),
        ServiceState::Running => host.stop(role),
    }
}

/// The installed role, or k0s's error when there is none.
pub fn installed_role(host: &Host) -> anyhow::Result<Role> {
    host.installed().ok_or_else(|| {
        anyhow::anyhow!(
            "k0rs has not been installed as a service (no {} or {})",
            host.service_file(Role::Controller).display(),
            host.service_file(Role::Worker).display()
        )
    })
}
