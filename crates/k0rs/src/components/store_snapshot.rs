//! `<run-dir>/store-snapshot.sock`: where `k0rs backup` gets a snapshot of the embedded store while
//! the controller runs.
//!
//! The running controller owns the store: its log is locked, and writes are in flight. Reading the
//! log from another process would see a prefix of whole records (they are framed and checksummed),
//! but it would rely on how the writer appends and rewrites its file, and would copy the whole
//! history. Instead the snapshot is taken here, by the store itself, at one revision between two
//! write batches, with every acknowledged write in it (`Embedded::snapshot`), while the store keeps
//! serving; the socket only carries it. The socket is private (mode 0600, and the peer must be
//! root or the controller's own user): a snapshot holds every Secret.
//!
//! Protocol: the client sends `snapshot\n`; the server answers `ok\n` and the snapshot, or
//! `error: <why>\n`, and closes the connection. The snapshot carries its own trailer, so a
//! connection that breaks off is noticed by the client.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use k0rs_store::Embedded;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::{JoinHandle, JoinSet};

/// The socket's file name in the run directory.
pub const SOCKET: &str = "store-snapshot.sock";
/// What a client sends, and what the server answers before the snapshot.
pub const REQUEST: &str = "snapshot\n";
pub const OK: &str = "ok\n";

pub fn socket_path(run_dir: &Path) -> PathBuf {
    run_dir.join(SOCKET)
}

/// The listening socket and the task serving it.
pub struct Server {
    path: PathBuf,
    task: JoinHandle<()>,
}

impl Server {
    /// Listens on the socket in `run_dir` (replacing a stale file a killed controller left).
    pub fn start(store: Arc<Embedded>, run_dir: &Path) -> anyhow::Result<Self> {
        let path = socket_path(run_dir);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot remove stale {}", path.display()));
            }
            _ => {}
        }
        let listener = UnixListener::bind(&path)
            .with_context(|| format!("cannot listen on {}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", path.display()))?;
        let task = tokio::spawn(serve(listener, store));
        Ok(Self { path, task })
    }

    /// Stops listening and ends the snapshots in flight (their clients see a broken snapshot).
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn serve(listener: UnixListener, store: Arc<Embedded>) {
    // Dropped with this task, which aborts every connection's task with it.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(answer(stream, store.clone()));
                }
                Err(error) => {
                    tracing::warn!(component = "store", %error, "snapshot socket: accept failed");
                }
            },
            Some(_) = connections.join_next() => {}
        }
    }
}

async fn answer(stream: UnixStream, store: Arc<Embedded>) {
    if let Err(error) = answer_one(stream, &store).await {
        tracing::warn!(
            component = "store",
            error = format!("{error:#}"),
            "snapshot socket: request failed"
        );
    }
}

async fn answer_one(stream: UnixStream, store: &Embedded) -> anyhow::Result<()> {
    let peer = stream
        .peer_cred()
        .context("cannot read the peer's credentials")?;
    let own = nix::unistd::geteuid().as_raw();
    let mut stream = BufReader::new(stream);
    if peer.uid() != 0 && peer.uid() != own {
        let message = format!("error: user {} may not read the store\n", peer.uid());
        stream.get_mut().write_all(message.as_bytes()).await?;
        anyhow::bail!("refused a snapshot to user {}", peer.uid());
    }
    let mut request = String::new();
    stream.read_line(&mut request).await?;
    let mut stream = stream.into_inner();
    if request != REQUEST {
        stream
            .write_all(format!("error: unknown request {:?}\n", request.trim()).as_bytes())
            .await?;
        anyhow::bail!("unknown request {request:?}");
    }
    let snapshot = match store.snapshot().await {
        Ok(snapshot) => snapshot,
        Err(error) => {
            stream
                .write_all(format!("error: {error}\n").as_bytes())
                .await?;
            return Err(error.into());
        }
    };
    tracing::info!(
        component = "store",
        revision = snapshot.revision(),
        keys = snapshot.key_count(),
        "snapshot taken for a backup"
    );
    stream.write_all(OK.as_bytes()).await?;
    // Encoding and writing are blocking work on data the snapshot holds by reference.
    let mut stream = stream.into_std()?;
    stream.set_nonblocking(false)?;
    let info = tokio::task::spawn_blocking(move || {
        let mut out = std::io::BufWriter::new(&mut stream);
        let info = snapshot.write_to(&mut out)?;
        out.flush()?;
        anyhow::Ok(info)
    })
    .await??;
    tracing::info!(component = "store", bytes = info.bytes, "snapshot sent");
    Ok(())
}
