//! A private host whose init system is real: systemd (as PID 1) or OpenRC, in PID, mount,
//! network, UTS and cgroup namespaces of their own, so that `k0rs install`, `start`, `stop` and
//! `status` drive a real service manager without touching the machine's. Inside, these are
//! private: `/run` (a tmpfs), the cgroup tree (a cgroup2 mount below a test cgroup), the service
//! directories (`/etc/systemd/system`, `/etc/init.d`, `/etc/runlevels`), `/var/log`, and the
//! console (a file, for what systemd and the services print). Systemd sees none of the host's
//! units, only stand-in targets; OpenRC (booted by openrc-init) no runlevel services, and
//! stand-ins for the `cgroups` and `net` services a booted host provides. Dropping it kills
//! everything in it and removes its cgroup.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{path_str, stdout};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    Systemd,
    OpenRc,
}

pub struct ServiceHost {
    pub init: Init,
    pub root: tempfile::TempDir,
    unshare: Child,
    /// The namespaces' PID 1, as the machine sees it.
    pid: i32,
    cgroup: PathBuf,
}

/// Targets systemd's units refer to; empty stand-ins, since none of the host's units are seen.
const TARGETS: [&str; 12] = [
    "k0rs-test",
    "sysinit",
    "basic",
    "network",
    "network-online",
    "multi-user",
    "shutdown",
    "sockets",
    "timers",
    "paths",
    "slices",
    "local-fs",
];

impl ServiceHost {
    pub fn start(init: Init) -> Self {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        for dir in [
            "systemd",
            "lib-systemd",
            "init.d",
            "runlevels/sysinit",
            "runlevels/boot",
            "runlevels/default",
            "runlevels/shutdown",
            "log",
        ] {
            std::fs::create_dir_all(r.join(dir)).unwrap();
        }
        std::fs::write(r.join("console"), "").unwrap();
        let cgroup = test_cgroup(r);
        let script = r.join("boot.sh");
        std::fs::write(&script, boot_script(init, r)).unwrap();
        let unshare = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "echo $$ > {}/cgroup.procs && exec unshare --cgroup --pid --fork --mount --net --uts --mount-proc --propagation private sh {}",
                cgroup.display(),
                script.display()
            ))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(r.join("boot.err")).unwrap())
            .spawn()
            .unwrap();
        let mut host = Self {
            init,
            root,
            pid: 0,
            unshare,
            cgroup,
        };
        host.pid = host.namespace_init();
        host.wait_booted();
        host
    }

    /// The process `unshare --fork` made PID 1 of the namespaces.
    fn namespace_init(&mut self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(10);
        let children = format!("/proc/{0}/task/{0}/children", self.unshare.id());
        loop {
            if let Some(pid) = std::fs::read_to_string(&children)
                .ok()
                .and_then(|text| text.split_whitespace().next()?.parse().ok())
            {
                return pid;
            }
            assert!(
                self.unshare.try_wait().unwrap().is_none(),
                "the namespaces did not come up: {}",
                self.log("boot.err")
            );
            assert!(Instant::now() < deadline, "no PID 1 in the namespaces");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_booted(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let booted = match self.init {
                Init::Systemd => {
                    let state = stdout(&self.run("systemctl", &["is-system-running"]));
                    matches!(state.trim(), "running" | "degraded")
                }
                Init::OpenRc => {
                    stdout(&self.run("cat", &["/run/openrc/softlevel"])).trim() == "default"
                }
            };
            if booted {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{:?} did not boot: {}\n{}",
                self.init,
                self.log("boot.err"),
                self.log("console")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `program args` inside the namespaces.
    pub fn run(&self, program: &str, args: &[&str]) -> Output {
        Command::new("nsenter")
            .args([
                "-t",
                &self.pid.to_string(),
                "-m",
                "-p",
                "-n",
                "-u",
                "-C",
                "--",
            ])
            .arg(program)
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("K0RS_INSTALL_ROOT")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// The k0rs binary under test with `args`, inside the namespaces.
    pub fn k0rs(&self, args: &[&str]) -> Output {
        self.run(path_str(&k0rs_binary()), args)
    }

    /// A file of the host's private directories (`console`, `log/k0rs.log`, …), for diagnostics.
    pub fn log(&self, file: &str) -> String {
        std::fs::read_to_string(self.root.path().join(file)).unwrap_or_default()
    }

    /// The private `/etc/systemd/system` or `/etc/init.d`, as the machine sees it.
    pub fn service_dir(&self) -> PathBuf {
        self.root.path().join(match self.init {
            Init::Systemd => "systemd",
            Init::OpenRc => "init.d",
        })
    }
}

impl Drop for ServiceHost {
    fn drop(&mut self) {
        // Killing PID 1 of a PID namespace kills everything in it.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
        let deadline = Instant::now() + Duration::from_secs(10);
        while remove_cgroup(&self.cgroup).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

pub fn k0rs_binary() -> PathBuf {
    PathBuf::from(assert_cmd::cargo::cargo_bin!("k0rs"))
}

/// A cgroup of its own below the machine's cgroup2 tree (the unified hierarchy of a hybrid
/// layout), named after the private root.
fn test_cgroup(root: &Path) -> PathBuf {
    let base = if Path::new("/sys/fs/cgroup/unified/cgroup.procs").exists() {
        Path::new("/sys/fs/cgroup/unified")
    } else {
        Path::new("/sys/fs/cgroup")
    };
    let name = root.file_name().unwrap().to_string_lossy();
    let cgroup = base.join(format!("k0rs-test-{}", name.trim_start_matches('.')));
    std::fs::create_dir(&cgroup).unwrap();
    cgroup
}

/// Removes a cgroup and the cgroups below it, deepest first.
fn remove_cgroup(dir: &Path) -> std::io::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            remove_cgroup(&entry.path())?;
        }
    }
    std::fs::remove_dir(dir)
}

/// What PID 1 of the namespaces runs: the private mounts, then systemd or openrc-init (each boots
/// into its empty default target or runlevel, and reaps what its services leave).
fn boot_script(init: Init, root: &Path) -> String {
    let r = root.display();
    let mut lines = vec![
        "set -e".to_owned(),
        "mount -t tmpfs tmpfs /run".to_owned(),
        "mount -t tmpfs tmpfs /sys/fs/cgroup".to_owned(),
        "mount -t cgroup2 cgroup2 /sys/fs/cgroup".to_owned(),
        format!("mount --bind {r}/console /dev/console"),
        format!("mount --bind {r}/console /dev/kmsg"),
        format!("mount --bind {r}/log /var/log"),
        "ip link set lo up".to_owned(),
    ];
    match init {
        Init::Systemd => {
            lines.push(format!("mount --bind {r}/systemd /etc/systemd/system"));
            lines.push(format!("mount --bind {r}/lib-systemd /lib/systemd/system"));
            lines.push("mkdir -p /run/systemd/system".to_owned());
            for target in TARGETS {
                let unit = "[Unit]\\nDescription=test stand-in\\nDefaultDependencies=no\\n";
                lines.push(format!(
                    "printf '{unit}' > /run/systemd/system/{target}.target"
                ));
            }
            lines.push("exec /lib/systemd/systemd --system --unit=k0rs-test.target".to_owned());
        }
        Init::OpenRc => {
            lines.push(format!("mount --bind {r}/init.d /etc/init.d"));
            lines.push(format!("mount --bind {r}/runlevels /etc/runlevels"));
            // `cgroups` is a service k0rs's script needs by name; `net` one that others provide.
            for (name, depend) in [("cgroups", ":"), ("test-net", "provide net")] {
                let script = format!(
                    "#!/sbin/openrc-run\\ndepend() {{\\n\\t{depend}\\n}}\\n\
                     start() {{ return 0; }}\\nstop() {{ return 0; }}\\n"
                );
                lines.push(format!("printf '{script}' > /etc/init.d/{name}"));
                lines.push(format!("chmod 755 /etc/init.d/{name}"));
            }
            lines.push("exec openrc-init".to_owned());
        }
    }
    lines.join("\n") + "\n"
}
