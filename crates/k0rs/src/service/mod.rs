//! k0rs as a service of the host's init system (`k0rs install`, `start`, `stop`, `reset`): which
//! init system runs the host, where each role's service file lives, and the service manager's
//! commands. k0s does this through kardianos/service; k0rs writes its own files (`systemd.rs`,
//! `openrc.rs`) with k0s's names and settings.
//!
//! Everything is looked up below one root directory, `/` unless the undocumented environment
//! variable `K0RS_INSTALL_ROOT` names another: tests install into a temporary directory with it,
//! never into the host's `/etc`. Under another root the init system is detected from that tree
//! too, and only what works offline is done (systemd's `systemctl --root` enabling; OpenRC's
//! runlevel link is left to `rc-update`, which has no root option).

pub mod flags;
mod openrc;
mod systemd;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;

/// The root override (see the module comment).
const ROOT_ENV: &str = "K0RS_INSTALL_ROOT";

/// The role a service runs; its name is k0s's with k0rs for k0s (`k0rscontroller`, `k0rsworker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Controller,
    Worker,
}

impl Role {
    /// In the order k0s looks for an installed service.
    pub const ALL: [Role; 2] = [Role::Controller, Role::Worker];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Controller => "controller",
            Role::Worker => "worker",
        }
    }

    pub fn service_name(self) -> String {
        format!("k0rs{}", self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitSystem {
    Systemd,
    OpenRc,
}

impl InitSystem {
    /// kardianos/service's platform names, which `k0s status` prints as "Init System".
    pub fn platform(self) -> &'static str {
        match self {
            InitSystem::Systemd => "linux-systemd",
            InitSystem::OpenRc => "linux-openrc",
        }
    }
}

/// Where the running service manager says a service is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceState {
    Running,
    Stopped,
    /// systemd's `failed`, OpenRC's `crashed`.
    Failed,
}

/// What a service runs: this binary with the persisted arguments and environment.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    pub role: Role,
    pub exe: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl ServiceSpec {
    /// The one-line description both service files carry.
    fn description(&self) -> String {
        format!(
            "k0rs {} - a single-binary Kubernetes distribution (k0s-compatible)",
            self.role.as_str()
        )
    }
}

/// The host (or the tree below the root override) and its init system.
#[derive(Debug, Clone)]
pub struct Host {
    root: PathBuf,
    init: InitSystem,
}

/// Paths that tell which init system runs a host, in the order they are looked for.
const SYSTEMD_MARKER: &str = "run/systemd/system";
const OPENRC_RUNNERS: [&str; 2] = ["sbin/openrc-run", "usr/sbin/openrc-run"];

impl Host {
    /// The root everything is looked up below.
    pub fn root() -> PathBuf {
        std::env::var_os(ROOT_ENV).map_or_else(|| PathBuf::from("/"), PathBuf::from)
    }

    /// The init system of the host: systemd when it booted the host (`/run/systemd/system`
    /// exists, as sd_booted checks), else OpenRC when its runner is installed.
    pub fn detect() -> anyhow::Result<Self> {
        let root = Self::root();
        let init = if root.join(SYSTEMD_MARKER).is_dir() {
            InitSystem::Systemd
        } else if OPENRC_RUNNERS.iter().any(|p| root.join(p).exists()) {
            InitSystem::OpenRc
        } else {
            let openrc = OPENRC_RUNNERS.map(|p| format!("/{p}")).join(" or ");
            anyhow::bail!(
                "no supported init system found{}: looked for systemd (/{SYSTEMD_MARKER}) and OpenRC ({openrc})",
                under(&root)
            );
        };
        Ok(Self { root, init })
    }

    pub fn init_system(&self) -> InitSystem {
        self.init
    }

    fn is_live(&self) -> bool {
        self.root == Path::new("/")
    }

    /// The service file of `role` (`/etc/systemd/system/k0rscontroller.service`,
    /// `/etc/init.d/k0rscontroller`).
    pub fn service_file(&self, role: Role) -> PathBuf {
        let name = role.service_name();
        match self.init {
            InitSystem::Systemd => self.root.join(format!("etc/systemd/system/{name}.service")),
            InitSystem::OpenRc => self.root.join(format!("etc/init.d/{name}")),
        }
    }

    /// The role whose service is installed, the controller's first (as k0s looks).
    pub fn installed(&self) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|role| self.service_file(*role).exists())
    }

    /// Writes and enables the service of `spec.role`, which must not exist yet. If enabling
    /// fails, the file is removed again, so that a rerun needs no `--force`.
    pub fn install(&self, spec: &ServiceSpec) -> anyhow::Result<PathBuf> {
        let path = self.service_file(spec.role);
        let (text, mode) = match self.init {
            InitSystem::Systemd => (systemd::unit(spec), 0o644),
            InitSystem::OpenRc => (openrc::script(spec), 0o755),
        };
        write_new(&path, &text, mode)?;
        let name = spec.role.service_name();
        let enabled = match self.init {
            InitSystem::Systemd => systemd::enable(&self.root, &name, self.is_live()),
            InitSystem::OpenRc if self.is_live() => openrc::enable(&name),
            InitSystem::OpenRc => Ok(()),
        };
        if let Err(error) = enabled {
            let _ = std::fs::remove_file(&path);
            return Err(error);
        }
        Ok(path)
    }

    /// Disables and removes the service of `role`; `false` when it was not installed.
    pub fn uninstall(&self, role: Role) -> anyhow::Result<bool> {
        let path = self.service_file(role);
        if !path.exists() {
            return Ok(false);
        }
        let name = role.service_name();
        match self.init {
            InitSystem::Systemd => systemd::disable(&self.root, &name, self.is_live())?,
            InitSystem::OpenRc if self.is_live() => openrc::disable(&name)?,
            InitSystem::OpenRc => {}
        }
        std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
        if self.init == InitSystem::Systemd && self.is_live() {
            systemd::daemon_reload()?;
        }
        Ok(true)
    }

    pub fn state(&self, role: Role) -> anyhow::Result<ServiceState> {
        let name = role.service_name();
        match self.init {
            InitSystem::Systemd => systemd::state(&name),
            InitSystem::OpenRc => openrc::state(&name),
        }
    }

    pub fn start(&self, role: Role) -> anyhow::Result<()> {
        let name = role.service_name();
        match self.init {
            InitSystem::Systemd => systemd::start(&name),
            InitSystem::OpenRc => openrc::start(&name),
        }
    }

    pub fn stop(&self, role: Role) -> anyhow::Result<()> {
        let name = role.service_name();
        match self.init {
            InitSystem::Systemd => systemd::stop(&name),
            InitSystem::OpenRc => openrc::stop(&name),
        }
    }
}

/// " below <root>" for a root other than `/`, for messages.
fn under(root: &Path) -> String {
    if root == Path::new("/") {
        String::new()
    } else {
        format!(" below {}", root.display())
    }
}

/// The init system and service file this process runs from, when an installed k0rs service of
/// `role` started it: systemd puts a service in a cgroup named after its unit, OpenRC exports the
/// service's name.
pub fn running_under(role: Role) -> Option<(InitSystem, PathBuf)> {
    let name = role.service_name();
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let unit = format!("{name}.service");
    let (init, started_by_it) = if cgroups
        .lines()
        .any(|line| line.rsplit('/').next() == Some(unit.as_str()))
    {
        (InitSystem::Systemd, true)
    } else {
        let svcname = std::env::var("RC_SVCNAME").unwrap_or_default();
        (InitSystem::OpenRc, svcname == name)
    };
    if !started_by_it {
        return None;
    }
    let host = Host {
        root: Host::root(),
        init,
    };
    Some((init, host.service_file(role)))
}

/// Writes `text` to a new file at `path` with `mode`, through a temporary name in the same
/// directory, so that a service manager never reads half a file.
fn write_new(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = path.parent().context("a service file has a directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let temp = dir.join(format!(
        ".{}.k0rs-new",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        // The mode given to open is filtered by the umask; a service file's mode is not.
        std::fs::set_permissions(&temp, std::os::unix::fs::PermissionsExt::from_mode(mode))?;
        std::fs::rename(&temp, path)
    };
    write().map_err(|error| {
        let _ = std::fs::remove_file(&temp);
        anyhow::Error::new(error).context(format!("cannot write {}", path.display()))
    })
}

/// Runs a service manager's command; its output, or an error with what it printed.
fn run(program: &str, args: &[&str]) -> anyhow::Result<std::process::Output> {
    let output = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {program}"))?;
    anyhow::ensure!(
        output.status.success(),
        "{program} {}: {} ({})",
        args.join(" "),
        printed(&output),
        output.status
    );
    Ok(output)
}

/// What a command printed, stderr first, on one line.
fn printed(output: &std::process::Output) -> String {
    let text = [&output.stderr, &output.stdout]
        .map(|bytes| String::from_utf8_lossy(bytes).trim().to_owned())
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    text.replace('\n', "; ")
}
