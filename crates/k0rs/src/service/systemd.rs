//! The systemd unit of a k0rs role, and systemctl. The unit's settings are k0s's: started after
//! the network is online, restarted whenever it exits, no limits on tasks and files, and
//! `KillMode=process`, so that stopping the service signals k0rs alone — k0rs stops its own
//! children (containerd) and leaves the containers running, to be adopted on the next start.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;

use super::{ServiceSpec, ServiceState, run};

/// The unit file of `spec`.
pub fn unit(spec: &ServiceSpec) -> String {
    let exe = spec.exe.to_string_lossy();
    let mut exec = vec![exec_word(&exe)];
    exec.extend(spec.args.iter().map(|arg| exec_word(arg)));
    let mut environment = String::new();
    for (name, value) in &spec.env {
        let _ = writeln!(
            environment,
            "Environment={}",
            quoted(&format!("{name}={value}"))
        );
    }
    let role = spec.role.as_str();
    format!(
        "# Written by `k0rs install {role}`; `k0rs install {role} --force` writes it anew.\n\
         [Unit]\n\
         Description={description}\n\
         ConditionFileIsExecutable={condition}\n\
         After=network-online.target\n\
         Wants=network-online.target\n\
         StartLimitIntervalSec=5\n\
         StartLimitBurst=10\n\
         \n\
         [Service]\n\
         ExecStart={exec}\n\
         {environment}\
         Restart=always\n\
         RestartSec=10\n\
         Delegate=yes\n\
         KillMode=process\n\
         LimitCORE=infinity\n\
         LimitNOFILE=999999\n\
         TasksMax=infinity\n\
         TimeoutStartSec=0\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n",
        description = escape_specifiers(&spec.description()),
        condition = escape_specifiers(&exe),
        exec = exec.join(" "),
    )
}

/// One word of `ExecStart=`: as it is when nothing in it is special to systemd, else in double
/// quotes with C escapes. `%` (specifiers) and `$` (environment expansion) are doubled either way.
fn exec_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=./:,@+%$".contains(c));
    let escaped = word.replace('$', "$$");
    if plain {
        escape_specifiers(&escaped)
    } else {
        quoted(&escaped)
    }
}

/// `"text"` with C escapes and `%` doubled: systemd reads it back as `text`.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '%' => out.push_str("%%"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn escape_specifiers(text: &str) -> String {
    text.replace('%', "%%")
}

pub fn enable(root: &Path, name: &str, live: bool) -> anyhow::Result<()> {
    let unit = format!("{name}.service");
    if live {
        run("systemctl", &["enable", &unit])?;
        daemon_reload()
    } else {
        let root = format!("--root={}", root.display());
        run("systemctl", &[&root, "enable", &unit]).map(drop)
    }
}

pub fn disable(root: &Path, name: &str, live: bool) -> anyhow::Result<()> {
    let unit = format!("{name}.service");
    if live {
        run("systemctl", &["disable", &unit]).map(drop)
    } else {
        let root = format!("--root={}", root.display());
        run("systemctl", &[&root, "disable", &unit]).map(drop)
    }
}

pub fn daemon_reload() -> anyhow::Result<()> {
    run("systemctl", &["daemon-reload"]).map(drop)
}

/// `systemctl is-active`, which exits non-zero for every state but active: read its answer.
pub fn state(name: &str) -> anyhow::Result<ServiceState> {
    let unit = format!("{name}.service");
    let output = std::process::Command::new("systemctl")
        .args(["is-active", &unit])
        .output()
        .context("cannot run systemctl")?;
    let answer = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    match answer.as_str() {
        "active" | "activating" | "deactivating" | "reloading" => Ok(ServiceState::Running),
        "inactive" => Ok(ServiceState::Stopped),
        "failed" => Ok(ServiceState::Failed),
        _ => anyhow::bail!(
            "systemctl is-active {unit}: {} ({})",
            super::printed(&output),
            output.status
        ),
    }
}

pub fn start(name: &str) -> anyhow::Result<()> {
    run("systemctl", &["start", &format!("{name}.service")]).map(drop)
}

pub fn stop(name: &str) -> anyhow::Result<()> {
    run("systemctl", &["stop", &format!("{name}.service")]).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(exec_word("--single"), "--single");
        assert_eq!(exec_word("--labels=a=b,c=d"), "--labels=a=b,c=d");
        assert_eq!(
            exec_word("--kubelet-extra-args=--node-ip=10.0.0.2 --v=2"),
            "\"--kubelet-extra-args=--node-ip=10.0.0.2 --v=2\""
        );
        assert_eq!(exec_word("50%$HOME"), "50%%$$HOME");
        assert_eq!(exec_word(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(exec_word(""), "\"\"");
    }
}
