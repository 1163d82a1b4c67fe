//! `k0rs install controller|worker [flags]`: register k0rs as a service of the host's init system
//! (systemd or OpenRC), running this binary with the flags given here, as `k0s install` does. Every
//! input is checked before anything is written: the role's flags and configuration as the role
//! would check them at start, the join token, the environment, the init system, and an existing
//! service (replaced only with `--force`).

use anyhow::Context as _;
use clap::{Args as ClapArgs, CommandFactory as _, Subcommand};

use crate::paths::HostPaths;
use crate::service::{Host, Role, ServiceSpec};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    pub role: RoleCommand,
    /// Replace the service if it is installed already
    #[arg(long, global = true)]
    pub force: bool,
    /// Environment variable of the service, NAME=VALUE, or NAME for this shell's value
    /// (repeatable)
    #[arg(short = 'e', long = "env", global = true, value_name = "NAME[=VALUE]")]
    pub env: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Install a controller service (takes the flags of `k0rs controller`)
    #[command(alias = "server")]
    Controller(super::controller::Flags),
    /// Install a worker service (takes the flags of `k0rs worker`; the join token from
    /// --token-file)
    Worker(super::worker::Flags),
}

/// The install command's own flags, never persisted.
const OWN_FLAGS: [&str; 2] = ["force", "env"];

pub fn run(args: &Args, paths: &HostPaths, matches: &clap::ArgMatches) -> anyhow::Result<()> {
    anyhow::ensure!(
        nix::unistd::geteuid().is_root(),
        "this command must be run as root"
    );
    let role = match &args.role {
        RoleCommand::Controller(flags) => {
            check_controller(flags, paths)?;
            Role::Controller
        }
        RoleCommand::Worker(flags) => {
            check_worker(flags)?;
            Role::Worker
        }
    };
    let env = resolve_env(&args.env)?;
    let host = Host::detect()?;
    let mut persisted = vec![role.as_str().to_owned()];
    persisted.extend(persisted_flags(role, matches)?);
    let spec = ServiceSpec {
        role,
        exe: std::env::current_exe().context("cannot tell where this k0rs binary is")?,
        args: persisted,
        env,
    };
    let path = host.service_file(role);
    if path.exists() {
        anyhow::ensure!(
            args.force,
            "failed to install k0rs service: Init already exists: {} (k0rs install {} --force replaces it)",
            path.display(),
            role.as_str()
        );
        tracing::info!(
            component = "install",
            service = role.service_name(),
            "uninstalling"
        );
        host.uninstall(role)
            .with_context(|| format!("cannot remove the installed {}", path.display()))?;
    }
    tracing::info!(
        component = "install",
        service = role.service_name(),
        init = host.init_system().platform(),
        "installing"
    );
    let path = host
        .install(&spec)
        .context("failed to install k0rs service")?;
    tracing::info!(component = "install", path = %path.display(), "installed");
    Ok(())
}

/// The controller's flags and configuration, checked as `k0rs controller` checks them at start.
fn check_controller(flags: &super::controller::Flags, paths: &HostPaths) -> anyhow::Result<()> {
    anyhow::ensure!(
        flags.config.path.as_deref() != Some(std::path::Path::new("-")),
        "cannot read configuration from standard input when installing k0rs: give the file with --config"
    );
    let mut config = flags
        .config
        .load_for(paths)
        .context("invalid node config")?;
    flags.apply_to(&mut config);
    if let Some(file) = &flags.worker.token_file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the join token from {}", file.display()))?;
        let token = crate::join_token::JoinToken::decode(&text)
            .with_context(|| format!("--token-file {}: not a join token", file.display()))?;
        anyhow::ensure!(
            token.role() == Some(crate::join_token::Role::Controller),
            "--token-file {}: not a controller join token (k0rs token create --role=controller makes one)",
            file.display()
        );
    }
    accept(flags.unapplied(&config))
}

/// The worker's flags and its join token, which must be a worker token in --token-file.
fn check_worker(flags: &super::worker::Flags) -> anyhow::Result<()> {
    let file = flags.worker.token_file.as_ref().context(
        "k0rs install worker needs --token-file FILE: the service reads its join token from it (k0rs token create --role=worker makes one)",
    )?;
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the join token from {}", file.display()))?;
    super::worker::decode_worker_token(&text)
        .with_context(|| format!("{}: not a worker join token", file.display()))?;
    accept(flags.worker.unapplied())
}

/// Refuses what the role would refuse at start; logs the warnings it would log.
fn accept(findings: Vec<k0rs_config::Unapplied>) -> anyhow::Result<()> {
    let warnings = k0rs_config::unapplied::split(findings).context("refusing to install")?;
    for warning in warnings {
        tracing::warn!(component = "install", "{warning}");
    }
    Ok(())
}

/// `--env` values as (name, value): `NAME` takes this process's value (as k0s does). Names must be
/// environment variable names and values one line, or the service file could not hold them.
fn resolve_env(given: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    given
        .iter()
        .map(|item| {
            let (name, value) = match item.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => (item.clone(), std::env::var(item).unwrap_or_default()),
            };
            let valid_name = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            anyhow::ensure!(
                valid_name,
                "--env {item:?}: {name:?} is not an environment variable name (letters, digits, _)"
            );
            anyhow::ensure!(
                !value.contains(['\n', '\r', '\0']),
                "--env {name}: the value must be one line"
            );
            Ok((name, value))
        })
        .collect()
}

/// The role's flags as given on this command line (see `service::flags`).
fn persisted_flags(role: Role, matches: &clap::ArgMatches) -> anyhow::Result<Vec<String>> {
    let mut root = crate::cli::Cli::command();
    root.build();
    let role_matches = matches
        .subcommand_matches("install")
        .and_then(|install| install.subcommand_matches(role.as_str()))
        .context("the command line has no install subcommand")?;
    let role_command = root
        .find_subcommand("install")
        .and_then(|install| install.find_subcommand(role.as_str()))
        .context("k0rs has no install subcommand")?;
    crate::service::flags::given(role_command, role_matches, &OWN_FLAGS)
}
