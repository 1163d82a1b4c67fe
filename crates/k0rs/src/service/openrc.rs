//! The OpenRC init script of a k0rs role, and rc-service/rc-update. Like k0s's: supervised by
//! supervise-daemon (which restarts k0rs when it exits), logs in `/var/log/k0rs.log` and
//! `/var/log/k0rs.err`, SIGTERM then 90 s before SIGKILL, k0s's ulimits and dependencies.

use std::fmt::Write as _;

use super::{ServiceSpec, ServiceState, run};

/// The init script of `spec`.
pub fn script(spec: &ServiceSpec) -> String {
    let role = spec.role.as_str();
    let mut exports = String::new();
    for (name, value) in &spec.env {
        let _ = writeln!(exports, "export {name}={}", sh_quote(value));
    }
    // supervise-daemon runs `eval … $command -- $command_args`: the value holds each argument
    // quoted once more for that eval.
    let args = spec
        .args
        .iter()
        .map(|arg| sh_quote(arg))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "#!/sbin/openrc-run\n\
         # Written by `k0rs install {role}`; `k0rs install {role} --force` writes it anew.\n\
         {exports}\
         supervisor=supervise-daemon\n\
         name=k0rs\n\
         description={description}\n\
         command={command}\n\
         command_args={args}\n\
         supervise_daemon_args=\"--stdout /var/log/${{name}}.log --stderr /var/log/${{name}}.err\"\n\
         retry=\"SIGTERM/90/SIGKILL/5\"\n\
         \n\
         : \"${{rc_ulimit=-n 1048576 -u unlimited}}\"\n\
         \n\
         depend() {{\n\
         \tneed cgroups\n\
         \tneed net\n\
         \tuse dns\n\
         \tafter firewall\n\
         }}\n",
        description = sh_quote(&spec.description()),
        command = sh_quote(&spec.exe.to_string_lossy()),
        args = sh_quote(&args),
    )
}

/// `text` as one shell word: in single quotes, each `'` as `'\''`.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Adds the service to the default runlevel, so that it starts at boot.
pub fn enable(name: &str) -> anyhow::Result<()> {
    run("rc-update", &["add", name, "default"]).map(drop)
}

/// Removes the service from the default runlevel (where `enable` put it); one that is no longer
/// there is fine.
pub fn disable(name: &str) -> anyhow::Result<()> {
    match run("rc-update", &["del", name, "default"]) {
        Err(error) if error.to_string().contains("is not in the runlevel") => Ok(()),
        result => result.map(drop),
    }
}

/// `rc-service <name> status` prints ` * status: <state>` (and exits non-zero but for started).
pub fn state(name: &str) -> anyhow::Result<ServiceState> {
    let output = std::process::Command::new("rc-service")
        .args([name, "status"])
        .output()
        .map_err(|error| anyhow::anyhow!("cannot run rc-service: {error}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let state = text
        .lines()
        .find_map(|line| line.split_once("status:"))
        .map(|(_, state)| state.trim().to_owned())
        .unwrap_or_default();
    match state.as_str() {
        "started" | "starting" | "stopping" => Ok(ServiceState::Running),
        "stopped" | "inactive" => Ok(ServiceState::Stopped),
        "crashed" => Ok(ServiceState::Failed),
        _ => anyhow::bail!(
            "rc-service {name} status: {} ({})",
            super::printed(&output),
            output.status
        ),
    }
}

pub fn start(name: &str) -> anyhow::Result<()> {
    run("rc-service", &[name, "start"]).map(drop)
}

pub fn stop(name: &str) -> anyhow::Result<()> {
    run("rc-service", &[name, "stop"]).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote("$HOME `x`"), "'$HOME `x`'");
    }
}
