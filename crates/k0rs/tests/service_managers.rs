//! `k0rs install`, `start`, `status`, `stop` and `reset` against real service managers: systemd
//! running as PID 1 of its own namespaces, and OpenRC (rc-service, supervise-daemon) in its own
//! (see `harness::service_host`). The service runs a controller on loopback; what runs is checked
//! at the process itself: its command line, its environment, its pid in `k0rs status`.

mod harness;

use std::time::{Duration, Instant};

use harness::service_host::{Init, ServiceHost, k0rs_binary};
use harness::{free_port, path_str, stderr, stdout};

/// A value systemd and the shell would both mangle if k0rs quoted it wrong.
const ENV_VALUE: &str = "a b %c $HOME 'q' \"dq\"";

struct Installed {
    host: ServiceHost,
    data_dir: std::path::PathBuf,
    config: std::path::PathBuf,
}

/// A host with `init`, k0rs installed as a controller service and started.
fn installed_and_started(init: Init) -> Installed {
    let host = ServiceHost::start(init);
    let data_dir = host.root.path().join("data");
    let config = host.root.path().join("k0s.yaml");
    std::fs::write(
        &config,
        format!(
            "spec:\n  api:\n    address: 127.0.0.1\n    port: {}\n    extraArgs:\n      bind-address: 127.0.0.1\n",
            free_port()
        ),
    )
    .unwrap();
    let env = format!("K0RS_TEST_ENV={ENV_VALUE}");
    let out = host.k0rs(&[
        "install",
        "controller",
        "--config",
        path_str(&config),
        "--data-dir",
        path_str(&data_dir),
        "--disable-components=kube-controller-manager,kube-scheduler",
        "-e",
        &env,
    ]);
    assert!(out.status.success(), "install: {}", stderr(&out));
    let out = host.k0rs(&["start"]);
    assert!(
        out.status.success(),
        "start: {}\n{}",
        stderr(&out),
        host.log("console")
    );
    Installed {
        host,
        data_dir,
        config,
    }
}

/// `k0rs status` once the API probe succeeded.
fn wait_status(host: &ServiceHost) -> String {
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        let out = host.k0rs(&["status"]);
        let text = stdout(&out);
        if text.contains("Kube-api probing successful: true") {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "no successful API probe: {text}{}\n{}\n{}",
            stderr(&out),
            host.log("console"),
            host.log("log/k0rs.log")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The pid in `k0rs status`'s text.
fn status_pid(status: &str) -> String {
    status
        .lines()
        .find_map(|line| line.strip_prefix("Process ID: "))
        .unwrap_or_else(|| panic!("no pid in {status}"))
        .to_owned()
}

/// `/proc/<pid>/<file>` inside the host, split at NULs.
fn proc_strings(host: &ServiceHost, pid: &str, file: &str) -> Vec<String> {
    let out = host.run("cat", &[&format!("/proc/{pid}/{file}")]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The running service is this k0rs with the installed flags and environment.
fn assert_runs_as_installed(installed: &Installed, pid: &str) {
    let cmdline = proc_strings(&installed.host, pid, "cmdline");
    assert_eq!(
        cmdline,
        [
            path_str(&k0rs_binary()).to_owned(),
            "controller".to_owned(),
            format!("--config={}", installed.config.display()),
            "--disable-components=kube-controller-manager,kube-scheduler".to_owned(),
            format!("--data-dir={}", installed.data_dir.display()),
        ]
    );
    let environ = proc_strings(&installed.host, pid, "environ");
    assert!(
        environ.contains(&format!("K0RS_TEST_ENV={ENV_VALUE}")),
        "{environ:?}"
    );
}

/// Stops the service and checks what k0s's commands say around it.
fn stop_and_check(host: &ServiceHost) {
    let again = host.k0rs(&["start"]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(stderr(&again).trim(), "k0rs: already running");
    let out = host.k0rs(&["stop"]);
    assert!(out.status.success(), "stop: {}", stderr(&out));
    let status = host.k0rs(&["status"]);
    assert_eq!(status.status.code(), Some(1), "{}", stdout(&status));
    assert!(
        stderr(&status).contains("connect: no such file or directory"),
        "{}",
        stderr(&status)
    );
    let again = host.k0rs(&["stop"]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(stderr(&again).trim(), "k0rs: already stopped");
}

#[test]
fn systemd_installs_starts_reports_stops_and_resets_k0rs() {
    let installed = installed_and_started(Init::Systemd);
    let host = &installed.host;
    let enabled = host.run("systemctl", &["is-enabled", "k0rscontroller.service"]);
    assert_eq!(stdout(&enabled).trim(), "enabled");
    let status = wait_status(host);
    let main_pid = stdout(&host.run(
        "systemctl",
        &["show", "-p", "MainPID", "--value", "k0rscontroller.service"],
    ));
    assert_eq!(status_pid(&status), main_pid.trim(), "{status}");
    assert!(status.contains("Role: controller\n"), "{status}");
    assert!(status.contains("Init System: linux-systemd\n"), "{status}");
    assert!(
        status.contains("Service file: /etc/systemd/system/k0rscontroller.service\n"),
        "{status}"
    );
    assert_runs_as_installed(&installed, main_pid.trim());

    stop_and_check(host);
    let active = host.run("systemctl", &["is-active", "k0rscontroller.service"]);
    assert_eq!(stdout(&active).trim(), "inactive");

    let out = host.k0rs(&["reset", "--data-dir", path_str(&installed.data_dir)]);
    assert!(out.status.success(), "reset: {}", stderr(&out));
    let unit = host.service_dir().join("k0rscontroller.service");
    assert!(!unit.exists(), "reset left {}", unit.display());
    let wants = host
        .service_dir()
        .join("multi-user.target.wants/k0rscontroller.service");
    assert!(
        std::fs::symlink_metadata(&wants).is_err(),
        "reset left the enabling link"
    );
    let out = host.k0rs(&["start"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("k0rs has not been installed as a service"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn openrc_installs_starts_reports_stops_and_resets_k0rs() {
    let installed = installed_and_started(Init::OpenRc);
    let host = &installed.host;
    let script = host.service_dir().join("k0rscontroller");
    let sh = std::process::Command::new("sh")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(sh.status.success(), "sh -n: {}", stderr(&sh));
    let link = host.root.path().join("runlevels/default/k0rscontroller");
    assert!(
        std::fs::symlink_metadata(&link).is_ok(),
        "rc-update did not add k0rs to the default runlevel"
    );
    let status = wait_status(host);
    assert!(status.contains("Init System: linux-openrc\n"), "{status}");
    assert!(
        status.contains("Service file: /etc/init.d/k0rscontroller\n"),
        "{status}"
    );
    let rc = stdout(&host.run("rc-service", &["k0rscontroller", "status"]));
    assert!(rc.contains("status: started"), "{rc}");
    assert_runs_as_installed(&installed, &status_pid(&status));
    assert!(
        host.log("log/k0rs.err").contains("ready") || host.log("log/k0rs.log").contains("ready"),
        "supervise-daemon's logs hold no k0rs output"
    );

    stop_and_check(host);
    let rc = stdout(&host.run("rc-service", &["k0rscontroller", "status"]));
    assert!(rc.contains("status: stopped"), "{rc}");

    let out = host.k0rs(&["reset", "--data-dir", path_str(&installed.data_dir)]);
    assert!(out.status.success(), "reset: {}", stderr(&out));
    assert!(!script.exists(), "reset left {}", script.display());
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "reset left the runlevel link"
    );
}
