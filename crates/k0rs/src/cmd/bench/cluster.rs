//! A `k0rs controller` process for `k0rs bench api`: this same binary, on a free loopback port,
//! with its data under the bench directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hyper::{Method, StatusCode};

use super::client::Tls;

pub struct BenchController {
    child: tokio::process::Child,
    dir: PathBuf,
    pub addr: SocketAddr,
}

/// How a controller process starts beyond its config: the command that runs it (`nsenter …`, to
/// run it on a host of the bench's own), arguments after `controller` (a join token), and a file
/// for its log.
#[derive(Debug, Default)]
pub struct Launch {
    /// The k0rs binary to run; this one when `None`.
    pub program: Option<PathBuf>,
    pub prefix: Vec<String>,
    pub args: Vec<String>,
    pub log: Option<PathBuf>,
}

/// How long a controller may take to answer `/readyz` before the bench gives up.
const READY_TIMEOUT: Duration = Duration::from_mins(1);

impl BenchController {
    /// Writes the controller's config under `dir`: a free loopback port, the embedded store or the
    /// etcd at `etcd`.
    pub fn configure(dir: &Path, etcd: Option<&str>) -> anyhow::Result<SocketAddr> {
        Self::configure_with(dir, etcd, "")
    }

    /// As [`Self::configure`], with `extra` lines under `spec:` in the config.
    pub fn configure_with(
        dir: &Path,
        etcd: Option<&str>,
        extra: &str,
    ) -> anyhow::Result<SocketAddr> {
        Self::configure_at(dir, "127.0.0.1", etcd, extra)
    }

    /// As [`Self::configure_with`], serving on `address` (an IPv4 address of this host).
    pub fn configure_at(
        dir: &Path,
        address: &str,
        etcd: Option<&str>,
        extra: &str,
    ) -> anyhow::Result<SocketAddr> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let ip: std::net::Ipv4Addr = address.parse().context("not an IPv4 address")?;
        let port = std::net::TcpListener::bind((ip, 0))?.local_addr()?.port();
        let storage = etcd.map_or_else(String::new, |endpoint| {
            format!(
                "  storage:\n    type: etcd\n    etcd:\n      externalCluster:\n        endpoints: [\"{endpoint}\"]\n        etcdPrefix: k0rs-bench\n"
            )
        });
        // Loopback only for a bench on the host; inside the bench's own network namespace the
        // admin kubeconfig's `localhost` must reach the server too.
        let bind = if ip.is_loopback() {
            format!("    extraArgs:\n      bind-address: {ip}\n")
        } else {
            String::new()
        };
        let config =
            format!("spec:\n  api:\n    address: {ip}\n    port: {port}\n{bind}{storage}{extra}");
        std::fs::write(dir.join("k0s.yaml"), config)?;
        Ok(SocketAddr::from((ip, port)))
    }

    /// Starts the controller configured in `dir`; returns it with the time from spawning it to its
    /// first `/readyz` 200.
    pub async fn start(dir: &Path, addr: SocketAddr) -> anyhow::Result<(Self, Duration)> {
        Self::launch(dir, addr, &Launch::default()).await
    }

    /// As [`Self::start`], the way `launch` says.
    pub async fn launch(
        dir: &Path,
        addr: SocketAddr,
        launch: &Launch,
    ) -> anyhow::Result<(Self, Duration)> {
        let started = Instant::now();
        let mut command = match &launch.program {
            Some(program) => tokio::process::Command::new(program),
            None => command(&launch.prefix)?,
        };
        let stderr = match &launch.log {
            Some(log) => Stdio::from(
                std::fs::File::create(log)
                    .with_context(|| format!("cannot create {}", log.display()))?,
            ),
            None => Stdio::null(),
        };
        let child = command
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--run-dir")
            .arg(dir.join("run"))
            .arg("controller")
            .arg("--config")
            .arg(dir.join("k0s.yaml"))
            .args(&launch.args)
            .stdout(Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .context("cannot start k0rs controller")?;
        let controller = Self {
            child,
            dir: dir.to_owned(),
            addr,
        };
        controller.wait_ready(started).await?;
        Ok((controller, started.elapsed()))
    }

    async fn wait_ready(&self, started: Instant) -> anyhow::Result<()> {
        loop {
            anyhow::ensure!(
                started.elapsed() < READY_TIMEOUT,
                "the controller did not become ready"
            );
            // The PKI is written before the API server listens: a connection means both exist.
            if tokio::net::TcpStream::connect(self.addr).await.is_ok()
                && let Ok(mut connection) = self.tls()?.connect().await
                && connection
                    .call(Method::GET, "/readyz", None, StatusCode::OK)
                    .await
                    .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    pub fn tls(&self) -> anyhow::Result<Tls> {
        Tls::admin(&self.dir.join("data").join("pki"), self.addr)
    }

    pub fn pid(&self) -> anyhow::Result<u32> {
        self.child.id().context("the controller has exited")
    }

    /// Resident memory of the controller process, in bytes.
    pub fn resident_bytes(&self) -> anyhow::Result<u64> {
        let pid = self.child.id().context("the controller has exited")?;
        k0rs_store::bench::resident_bytes(&pid.to_string())
            .context("cannot read the controller's memory")
    }

    /// SIGKILL, as a machine that dies: what the controller supervised (etcd) is left running.
    pub async fn kill(mut self) -> anyhow::Result<()> {
        self.child.start_kill()?;
        self.child.wait().await?;
        Ok(())
    }

    /// SIGTERM, then waits for the process to exit.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(pid) = self.child.id() {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(pid)?);
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)?;
        }
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .context("the controller did not stop")??;
        Ok(())
    }
}

/// `k0rs token create --role <role>` on the controller configured in `controller_dir`, run by
/// `prefix` (in the controller's network namespace; empty: here).
pub async fn create_token(
    controller_dir: &Path,
    role: &str,
    prefix: &[String],
) -> anyhow::Result<String> {
    let output = command(prefix)?
        .arg("--data-dir")
        .arg(controller_dir.join("data"))
        .args(["token", "create", "--role", role, "--config"])
        .arg(controller_dir.join("k0s.yaml"))
        .output()
        .await
        .context("cannot run k0rs token create")?;
    anyhow::ensure!(
        output.status.success(),
        "k0rs token create: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

/// This k0rs, run by `prefix` if it is not empty.
fn command(prefix: &[String]) -> anyhow::Result<tokio::process::Command> {
    let exe = std::env::current_exe()?;
    Ok(match prefix.split_first() {
        Some((program, args)) => {
            let mut command = tokio::process::Command::new(program);
            command.args(args).arg(exe);
            command
        }
        None => tokio::process::Command::new(exe),
    })
}
