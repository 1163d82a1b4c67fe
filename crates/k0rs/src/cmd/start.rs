//! `k0rs start`: start the k0rs service `k0rs install` set up, through the host's service manager
//! (the controller's if both roles are installed, as k0s picks).

use crate::service::{Host, ServiceState};

pub fn run() -> anyhow::Result<()> {
    anyhow::ensure!(
        nix::unistd::geteuid().is_root(),
        "this command must be run as root"
    );
    let host = Host::detect()?;
    let role = super::stop::installed_role(&host)?;
    // k0s's wording; a failed service is started again.
    anyhow::ensure!(
        host.state(role)? != ServiceState::Running,
        "already running"
    );
    host.start(role)
}
