//! `k0rs install` into a private root (the undocumented `K0RS_INSTALL_ROOT`): the service files it
//! writes for systemd and OpenRC, judged by `systemd-analyze verify` and `sh -n`; systemd's own
//! `systemctl --root` enabling; `--force`; bad input refused with nothing written; `reset`
//! removing the files; `start`/`stop` without a service. The service managers themselves run in
//! `service_managers.rs`.

mod harness;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use harness::controller::Controller;
use harness::service_host::k0rs_binary;
use harness::{k0rs, path_str, stderr, stdout};

/// A private root that looks like a host booted by `init` (`"systemd"`, `"openrc"`, or `"none"`).
fn root(init: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    match init {
        "systemd" => std::fs::create_dir_all(root.path().join("run/systemd/system")).unwrap(),
        "openrc" => {
            std::fs::create_dir_all(root.path().join("sbin")).unwrap();
            std::fs::write(root.path().join("sbin/openrc-run"), "").unwrap();
        }
        _ => {}
    }
    root
}

/// `k0rs <args>` installing below `root`, from `cwd`.
fn in_root(root: &Path, cwd: &Path, args: &[&str]) -> Output {
    let mut cmd: Command = k0rs(args);
    cmd.env("K0RS_INSTALL_ROOT", root).current_dir(cwd);
    cmd.output().unwrap()
}

/// Every file below `dir` with its contents (symlinks as their targets).
fn tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(path.clone());
                out.insert(path, "<dir>".into());
            } else if kind.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(path, format!("-> {}", target.display()));
            } else {
                out.insert(path.clone(), std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    out
}

fn unit_path(root: &Path, role: &str) -> PathBuf {
    root.join(format!("etc/systemd/system/k0rs{role}.service"))
}

/// The `Key=` lines of a unit.
fn unit_values(text: &str, key: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix(&format!("{key}=")))
        .map(str::to_owned)
        .collect()
}

fn assert_verified(unit: &Path) {
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(unit)
        .output()
        .expect("systemd-analyze (Debian's systemd) must be installed");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify {}: {}{}",
        unit.display(),
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn systemd_unit_persists_the_given_flags_and_verifies() {
    let root = root("systemd");
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(
        cwd.path().join("k0s.yaml"),
        "spec:\n  api:\n    address: 127.0.0.1\n",
    )
    .unwrap();
    std::fs::create_dir(cwd.path().join("data")).unwrap();
    let out = in_root(
        root.path(),
        cwd.path(),
        &[
            "--data-dir",
            "data",
            "install",
            "controller",
            "--single",
            "-c",
            "k0s.yaml",
            "--labels",
            "tier=edge,zone=a",
            "--kubelet-extra-args=--node-ip=10.1.2.3 --hostname-override=n1",
            "-e",
            "HTTP_PROXY=http://proxy:3128",
            "--env=ODD=50% of \"$HOME\" \\ 'x'",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let unit = unit_path(root.path(), "controller");
    let text = std::fs::read_to_string(&unit).unwrap();
    let exe = path_str(&k0rs_binary()).to_owned();
    let cwd = cwd.path().canonicalize().unwrap();
    assert_eq!(
        unit_values(&text, "ExecStart"),
        [format!(
            "{exe} controller --config={} --single --labels=tier=edge,zone=a \"--kubelet-extra-args=--node-ip=10.1.2.3 --hostname-override=n1\" --data-dir={}",
            cwd.join("k0s.yaml").display(),
            cwd.join("data").display()
        )]
    );
    assert_eq!(
        unit_values(&text, "Environment"),
        [
            "\"HTTP_PROXY=http://proxy:3128\"",
            r#""ODD=50%% of \"$HOME\" \\ 'x'""#
        ]
    );
    for setting in [
        "KillMode=process",
        "Restart=always",
        "Delegate=yes",
        "LimitNOFILE=999999",
        "After=network-online.target",
        "Wants=network-online.target",
        "WantedBy=multi-user.target",
        &format!("ConditionFileIsExecutable={exe}"),
    ] {
        assert!(
            text.lines().any(|l| l == setting),
            "{setting} missing:\n{text}"
        );
    }
    assert_verified(&unit);
    // Enabled offline by systemd's own tool, as `systemctl enable` does on a live host.
    let wants = root
        .path()
        .join("etc/systemd/system/multi-user.target.wants/k0rscontroller.service");
    assert_eq!(
        std::fs::read_link(wants).unwrap(),
        Path::new("/etc/systemd/system/k0rscontroller.service")
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&unit).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o644);
}

#[test]
fn a_second_install_needs_force_and_force_replaces() {
    let root = root("systemd");
    let cwd = tempfile::tempdir().unwrap();
    let install = |extra: &[&str]| {
        let mut args = vec!["install", "controller", "--enable-worker"];
        args.extend_from_slice(extra);
        in_root(root.path(), cwd.path(), &args)
    };
    assert!(install(&[]).status.success());
    let unit = unit_path(root.path(), "controller");
    let before = tree(root.path());
    let out = install(&["--no-taints"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).lines().last().unwrap(),
        format!(
            "k0rs: failed to install k0rs service: Init already exists: {} (k0rs install controller --force replaces it)",
            unit.display()
        )
    );
    assert_eq!(tree(root.path()), before, "a refused install changed files");
    let out = install(&["--no-taints", "--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&unit).unwrap();
    assert!(
        unit_values(&text, "ExecStart")[0].ends_with(" controller --enable-worker --no-taints"),
        "{text}"
    );
    assert_verified(&unit);
}

#[test]
fn without_an_init_system_nothing_is_written_and_the_error_says_what_was_looked_for() {
    let root = root("none");
    let cwd = tempfile::tempdir().unwrap();
    let out = in_root(root.path(), cwd.path(), &["install", "controller"]);
    assert_eq!(out.status.code(), Some(1));
    let error = stderr(&out);
    for looked_for in [
        "systemd (/run/systemd/system)",
        "/sbin/openrc-run",
        "/usr/sbin/openrc-run",
    ] {
        assert!(error.contains(looked_for), "{error}");
    }
    assert!(tree(root.path()).is_empty(), "{:?}", tree(root.path()));
    for command in ["start", "stop"] {
        let out = in_root(root.path(), cwd.path(), &[command]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).contains("no supported init system found"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn bad_input_is_refused_and_writes_nothing() {
    let root = root("systemd");
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(
        cwd.path().join("bad.yaml"),
        "spec:\n  api:\n    port: 99999\n",
    )
    .unwrap();
    std::fs::write(cwd.path().join("garbage-token"), "not a token").unwrap();
    let before = tree(root.path());
    for (args, code, says) in [
        (&["install", "bogus"][..], 2, "bogus"),
        (&["install"], 2, "Usage"),
        (
            &["install", "controller", "-c", "bad.yaml"],
            1,
            "spec.api.port",
        ),
        (
            &["install", "controller", "-c", "missing.yaml"],
            1,
            "missing.yaml",
        ),
        (&["install", "controller", "-c", "-"], 1, "standard input"),
        (
            &["install", "controller", "--token-file", "garbage-token"],
            1,
            "--token-file",
        ),
        (
            &["install", "controller", "-e", "1X=y"],
            1,
            "\"1X\" is not an environment variable name",
        ),
        (&["install", "worker"], 1, "needs --token-file"),
        (
            &["install", "worker", "--token-file", "missing-token"],
            1,
            "missing-token",
        ),
        (
            &["install", "worker", "--token-file", "garbage-token"],
            1,
            "not a worker join token",
        ),
        (
            &["install", "controller", "--taints", "a=b:Never"],
            2,
            "NoSchedule",
        ),
    ] {
        let out = in_root(root.path(), cwd.path(), args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        assert_eq!(tree(root.path()), before, "{args:?} wrote something");
    }
}

#[test]
fn openrc_script_for_a_worker_passes_sh_n_and_quotes_its_arguments() {
    let controller = Controller::start();
    let out = controller
        .node
        .k0rs(&[
            "token",
            "create",
            "--role=worker",
            "--config",
            path_str(&controller.config),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let root = root("openrc");
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(cwd.path().join("token"), &out.stdout).unwrap();
    let out = in_root(
        root.path(),
        cwd.path(),
        &[
            "install",
            "worker",
            "--token-file",
            "token",
            "--taints",
            "dedicated=gpu:NoSchedule",
            "--kubelet-extra-args=--node-ip=10.1.2.3 --hostname-override=it's",
            "-e",
            "NO_PROXY=a b'c",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let script = root.path().join("etc/init.d/k0rsworker");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&script).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o755);
    let sh = Command::new("sh").arg("-n").arg(&script).output().unwrap();
    assert!(sh.status.success(), "sh -n: {}", stderr(&sh));
    // What the script gives supervise-daemon, evaluated as openrc-run evaluates it.
    let probe = format!(
        ". {}; eval \"set -- $command_args\"; printf '%s\\n' \"$command\" \"$@\" \"$NO_PROXY\" \"$supervisor\"",
        script.display()
    );
    let out = Command::new("sh").arg("-c").arg(&probe).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let cwd = cwd.path().canonicalize().unwrap();
    assert_eq!(
        stdout(&out).lines().collect::<Vec<_>>(),
        [
            path_str(&k0rs_binary()),
            "worker",
            &format!("--token-file={}", cwd.join("token").display()),
            "--taints=dedicated=gpu:NoSchedule",
            "--kubelet-extra-args=--node-ip=10.1.2.3 --hostname-override=it's",
            "a b'c",
            "supervise-daemon",
        ]
    );
}

#[test]
fn reset_removes_the_service_files() {
    let root = root("systemd");
    let cwd = tempfile::tempdir().unwrap();
    assert!(
        in_root(root.path(), cwd.path(), &["install", "controller"])
            .status
            .success()
    );
    let data_dir = cwd.path().join("never-ran");
    let out = in_root(
        root.path(),
        cwd.path(),
        &[
            "--data-dir",
            path_str(&data_dir),
            "--run-dir",
            path_str(&cwd.path().join("run")),
            "reset",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stdout(&out).contains("nothing to reset"),
        "{}",
        stdout(&out)
    );
    let left: Vec<_> = tree(root.path())
        .into_iter()
        .filter(|(_, content)| content != "<dir>")
        .collect();
    assert!(left.is_empty(), "reset left {left:?}");
}

#[test]
fn start_and_stop_need_an_installed_service() {
    let root = root("systemd");
    let cwd = tempfile::tempdir().unwrap();
    for command in ["start", "stop"] {
        let out = in_root(root.path(), cwd.path(), &[command]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            stderr(&out).starts_with("k0rs: k0rs has not been installed as a service"),
            "{}",
            stderr(&out)
        );
    }
}
