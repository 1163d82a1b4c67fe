//! The flags a service runs k0rs with: those given to `k0rs install <role>`, as k0s persists them —
//! only the flags given on the command line (a default stays a default, so that a later k0rs's
//! defaults apply), as `--name=value` with lists joined by commas, paths made absolute, and the
//! install command's own flags left out. Read from clap's matches rather than re-rendered from the
//! typed flags, so that a flag added to a role later is persisted without anyone remembering to.

use std::path::Path;

use anyhow::Context as _;
use clap::parser::ValueSource;

/// Flags whose values are paths, made absolute against the install's working directory (the
/// service runs elsewhere). k0s does the same for its config, data dir and token file.
const PATH_FLAGS: [&str; 5] = [
    "config",
    "data-dir",
    "run-dir",
    "token-file",
    "status-socket",
];

/// `--name[=value]` of every flag of `command` that `matches` got from the command line, in
/// `command`'s order, without the flags named in `skip`.
pub fn given(
    command: &clap::Command,
    matches: &clap::ArgMatches,
    skip: &[&str],
) -> anyhow::Result<Vec<String>> {
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    let mut out = Vec::new();
    for arg in command.get_arguments() {
        let id = arg.get_id().as_str();
        let Some(long) = arg.get_long() else {
            continue;
        };
        if arg.is_positional()
            || skip.contains(&long)
            || matches.value_source(id) != Some(ValueSource::CommandLine)
        {
            continue;
        }
        if !arg.get_action().takes_values() {
            out.push(format!("--{long}"));
            continue;
        }
        let values: Vec<String> = matches
            .get_raw(id)
            .into_iter()
            .flatten()
            .map(|value| {
                let value = value.to_str().with_context(|| {
                    format!(
                        "--{long}: {} is not UTF-8 and cannot go into a service file",
                        value.display()
                    )
                })?;
                Ok(if PATH_FLAGS.contains(&long) {
                    absolute(&cwd, value)
                } else {
                    value.to_owned()
                })
            })
            .collect::<anyhow::Result<_>>()?;
        match arg.get_value_delimiter() {
            Some(delimiter) => {
                out.push(format!("--{long}={}", values.join(&delimiter.to_string())));
            }
            None => out.extend(values.iter().map(|value| format!("--{long}={value}"))),
        }
    }
    Ok(out)
}

fn absolute(cwd: &Path, value: &str) -> String {
    cwd.join(value).display().to_string()
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, FromArgMatches as _};

    use super::*;
    use crate::cli::Cli;

    /// The persisted flags of `k0rs <args>` (an install command) and the parsed command they make.
    fn persisted(args: &[&str]) -> Vec<String> {
        let mut root = Cli::command();
        root.build();
        let matches = root.clone().try_get_matches_from(args).unwrap();
        let (_, install) = matches.subcommand().unwrap();
        let (role, role_matches) = install.subcommand().unwrap();
        let install_command = root.find_subcommand("install").unwrap();
        let role_command = install_command.find_subcommand(role).unwrap();
        given(role_command, role_matches, &["force", "env"]).unwrap()
    }

    #[test]
    fn only_given_flags_are_kept_in_k0s_spelling() {
        let cwd = std::env::current_dir().unwrap();
        let args = persisted(&[
            "k0rs",
            "--data-dir",
            "data",
            "install",
            "controller",
            "--single",
            "--force",
            "-e",
            "A=b",
            "--labels",
            "a=b,c=d",
            "--labels=e=f",
            "--disable-components",
            "helm,kube-proxy",
            "--kubelet-extra-args=--node-ip=10.0.0.2 --v=2",
            "-c",
            "/etc/k0s/k0s.yaml",
            "--debug",
        ]);
        assert_eq!(
            args,
            [
                "--config=/etc/k0s/k0s.yaml".to_owned(),
                "--single".to_owned(),
                "--disable-components=helm,kube-proxy".to_owned(),
                "--labels=a=b,c=d,e=f".to_owned(),
                "--kubelet-extra-args=--node-ip=10.0.0.2 --v=2".to_owned(),
                format!("--data-dir={}", cwd.join("data").display()),
                "--debug".to_owned(),
            ]
        );
    }

    #[test]
    fn persisted_flags_parse_back_to_the_same_role() {
        let args = persisted(&[
            "k0rs",
            "install",
            "worker",
            "--token-file",
            "/tmp/token",
            "--taints",
            "a=b:NoSchedule",
            "--iptables-mode",
            "nft",
            "--status-socket",
            "/tmp/s.sock",
        ]);
        let mut command_line = vec!["k0rs".to_owned(), "worker".to_owned()];
        command_line.extend(args);
        let cli =
            Cli::from_arg_matches(&Cli::command().try_get_matches_from(&command_line).unwrap())
                .unwrap();
        let crate::cli::Command::Worker(worker) = cli.command else {
            panic!("not a worker: {command_line:?}");
        };
        let flags = worker.flags;
        assert_eq!(
            flags.worker.token_file.as_deref(),
            Some(Path::new("/tmp/token"))
        );
        assert_eq!(flags.worker.taints, ["a=b:NoSchedule"]);
        assert_eq!(flags.worker.iptables_mode.as_deref(), Some("nft"));
        assert_eq!(
            flags.status_socket.path.as_deref(),
            Some(Path::new("/tmp/s.sock"))
        );
    }
}
