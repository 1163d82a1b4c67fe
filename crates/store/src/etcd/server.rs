//! A throwaway single-member etcd on loopback, for tests and benchmarks: Debian's `etcd` binary, a
//! private data directory and free ports.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{EtcdOptions, EtcdStore, EtcdTls};
use crate::error::{Result, StoreError};
use crate::store::Store as _;

/// Serving TLS for a throwaway etcd: its certificate and key, the CA its clients' certificates
/// must chain to (client certificates are required), and a client identity to probe it with.
#[derive(Debug, Clone)]
pub struct ServerTls {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub trusted_ca_file: PathBuf,
    pub client: EtcdTls,
}

/// A running etcd, killed when dropped.
#[derive(Debug)]
pub struct EtcdServer {
    child: Child,
    /// The client URL, `http(s)://127.0.0.1:<port>`.
    pub endpoint: String,
}

impl EtcdServer {
    /// Starts etcd with its data under `data_dir`, and waits until it answers. `extra_args` go to
    /// etcd as they are (e.g. `--experimental-watch-progress-notify-interval=200ms`).
    pub async fn start(data_dir: &Path, extra_args: &[&str]) -> Result<Self> {
        Self::launch(data_dir, None, extra_args).await
    }

    /// Starts etcd serving TLS on its client port and requiring client certificates.
    pub async fn start_tls(data_dir: &Path, tls: &ServerTls) -> Result<Self> {
        Self::launch(data_dir, Some(tls), &[]).await
    }

    /// The options a client needs to reach this etcd (with `tls`'s client identity, if any).
    pub fn client_options(&self, tls: Option<&EtcdTls>) -> EtcdOptions {
        EtcdOptions {
            endpoints: vec![self.endpoint.clone()],
            tls: tls.cloned(),
        }
    }

    async fn launch(data_dir: &Path, tls: Option<&ServerTls>, extra_args: &[&str]) -> Result<Self> {
        let binary = find_etcd()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let tls_args: Vec<String> = tls
            .map(|t| {
                vec![
                    format!("--cert-file={}", t.cert_file.display()),
                    format!("--key-file={}", t.key_file.display()),
                    format!("--trusted-ca-file={}", t.trusted_ca_file.display()),
                    "--client-cert-auth".to_owned(),
                ]
            })
            .unwrap_or_default();
        let mut last_error = String::new();
        // A free port can be taken by someone else before etcd binds it: retry with new ports.
        for _ in 0..5 {
            let (client_port, peer_port) = (free_port()?, free_port()?);
            let endpoint = format!("{scheme}://127.0.0.1:{client_port}");
            let peer = format!("http://127.0.0.1:{peer_port}");
            let child = Command::new(&binary)
                .arg("--name=k0rs-test")
                .arg(format!("--data-dir={}", data_dir.display()))
                .arg(format!("--listen-client-urls={endpoint}"))
                .arg(format!("--advertise-client-urls={endpoint}"))
                .arg(format!("--listen-peer-urls={peer}"))
                .arg(format!("--initial-advertise-peer-urls={peer}"))
                .arg(format!("--initial-cluster=k0rs-test={peer}"))
                .arg("--log-level=error")
                .args(&tls_args)
                .args(extra_args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| StoreError::Etcd(format!("cannot start {}: {e}", binary.display())))?;
            let mut server = Self { child, endpoint };
            let probe = server.client_options(tls.map(|t| &t.client));
            match server.wait_ready(&probe, Duration::from_secs(20)).await {
                Ok(()) => return Ok(server),
                Err(e) => last_error = e,
            }
        }
        Err(StoreError::Etcd(format!(
            "etcd did not start: {last_error}"
        )))
    }

    async fn wait_ready(&mut self, probe: &EtcdOptions, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                let mut stderr = String::new();
                if let Some(mut pipe) = self.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                return Err(format!("etcd exited with {status}: {}", stderr.trim()));
            }
            if let Ok(store) = EtcdStore::connect(probe).await
                && store.current_revision().await.is_ok()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("no answer".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The process id, for memory measurements.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| StoreError::Etcd(format!("no free loopback port: {e}")))
}

/// The etcd binary: `$K0RS_ETCD`, else `etcd` on the PATH (Debian's `etcd-server` package).
fn find_etcd() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("K0RS_ETCD") {
        return Ok(PathBuf::from(path));
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("etcd"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            StoreError::Etcd("etcd not found on PATH (Debian package etcd-server)".into())
        })
}
