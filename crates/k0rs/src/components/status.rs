//! The status socket (`<run-dir>/status.sock`, or `--status-socket`): HTTP over a Unix socket that
//! `k0rs status` asks (see `node_status` for what it answers). It starts right after the pid file,
//! so that a node that is still starting already says what it is and which component it waits
//! for. While it runs it probes the API server, as k0s's status component does.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use k0rs_component::{Component, States};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::node_status::{
    COMPONENTS_PATH, ComponentsReport, NodePaths, NodeStatus, ProbeStatus, STATUS_PATH,
};
use crate::paths::HostPaths;

/// Between two API probes while they succeed, and while they fail (faster, so that a node that
/// comes up reports it soon).
const PROBE_INTERVAL_OK: Duration = Duration::from_secs(10);
const PROBE_INTERVAL_FAILING: Duration = Duration::from_secs(2);
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// `maxCount` when a request gives none or an unreadable one (k0s's default).
const DEFAULT_MAX_COUNT: usize = 5;

/// What the socket reports about this node, and how it probes the API.
pub struct Node {
    status: NodeStatus,
    socket: PathBuf,
    /// The kubeconfig whose server and credentials the API probe uses.
    probe_kubeconfig: PathBuf,
}

impl Node {
    /// A controller; one that runs workloads probes the API as its kubelet does (k0s's meaning of
    /// the probe), one that does not probes its own API server with the admin kubeconfig.
    pub fn controller(
        paths: &HostPaths,
        socket: PathBuf,
        role: crate::controller::Role,
        config: &k0rs_config::ClusterConfig,
    ) -> Self {
        use crate::controller::Role;
        let workloads = role != Role::Controller;
        let mut status = base_status(paths, &socket, crate::service::Role::Controller);
        status.workloads = workloads;
        status.single_node = role == Role::Single;
        status.cluster_config = serde_json::to_value(config).ok();
        let probe_kubeconfig = if workloads {
            paths.data_dir.join("kubelet.conf")
        } else {
            paths.pki_dir().join("admin.conf")
        };
        Self {
            status,
            socket,
            probe_kubeconfig,
        }
    }

    /// A worker: probes the API with its kubelet's credentials.
    pub fn worker(paths: &HostPaths, socket: PathBuf) -> Self {
        let mut status = base_status(paths, &socket, crate::service::Role::Worker);
        status.workloads = true;
        Self {
            status,
            socket,
            probe_kubeconfig: paths.data_dir.join("kubelet.conf"),
        }
    }
}

fn base_status(paths: &HostPaths, socket: &Path, role: crate::service::Role) -> NodeStatus {
    let (sys_init, stub_file) = crate::service::running_under(role)
        .map(|(init, file)| (init.platform().to_owned(), file.display().to_string()))
        .unwrap_or_default();
    NodeStatus {
        version: crate::version::k0rs().to_owned(),
        pid: std::process::id(),
        ppid: u32::try_from(nix::unistd::getppid().as_raw()).unwrap_or_default(),
        role: role.as_str().to_owned(),
        sys_init,
        stub_file,
        output: String::new(),
        workloads: false,
        single_node: false,
        args: std::env::args().collect(),
        api_probe: ProbeStatus::default(),
        cluster_config: None,
        paths: NodePaths {
            data_dir: paths.data_dir.display().to_string(),
            run_dir: paths.run_dir().display().to_string(),
            status_socket_path: socket.display().to_string(),
        },
    }
}

/// What the handlers read.
struct Shared {
    status: NodeStatus,
    api: Mutex<ProbeStatus>,
    states: States,
}

pub struct StatusComponent {
    node: Option<Node>,
    states: States,
    socket: PathBuf,
    running: Option<Running>,
}

struct Running {
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<()>,
    prober: JoinHandle<()>,
}

impl StatusComponent {
    /// `states` is the node's manager's (`Manager::states`), for `status components`.
    pub fn new(node: Node, states: States) -> Self {
        Self {
            socket: node.socket.clone(),
            node: Some(node),
            states,
            running: None,
        }
    }
}

#[async_trait]
impl Component for StatusComponent {
    fn name(&self) -> &'static str {
        "status"
    }

    async fn init(&mut self) -> anyhow::Result<()> {
        if let Some(dir) = self.socket.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        Ok(())
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let node = self.node.take().context("started twice")?;
        remove_leftover(&self.socket)?;
        let listener = tokio::net::UnixListener::bind(&self.socket)
            .with_context(|| format!("cannot listen on {}", self.socket.display()))?;
        let shared = Arc::new(Shared {
            status: node.status,
            api: Mutex::new(ProbeStatus {
                message: "not probed yet".into(),
                success: false,
            }),
            states: self.states.clone(),
        });
        let router = Router::new()
            .route(STATUS_PATH, get(status))
            .route(COMPONENTS_PATH, get(components))
            .with_state(shared.clone());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let socket = self.socket.clone();
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                tracing::error!(component = "status", socket = %socket.display(), %error, "status socket failed");
            }
        });
        let prober = tokio::spawn(probe_api(node.probe_kubeconfig, shared));
        tracing::info!(component = "status", socket = %self.socket.display(), "listening");
        self.running = Some(Running {
            shutdown,
            server,
            prober,
        });
        Ok(())
    }

    async fn ready(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.running.is_some(), "not started");
        // Someone removing the socket (a careless cleanup of the run directory) makes the node
        // unreachable for `k0rs status`: worth reporting.
        anyhow::ensure!(
            self.socket.exists(),
            "{} has been removed",
            self.socket.display()
        );
        Ok(())
    }

    async fn stop(&mut self) -> anyhow::Result<()> {
        let Some(running) = self.running.take() else {
            return Ok(());
        };
        running.prober.abort();
        let _ = running.shutdown.send(());
        if tokio::time::timeout(Duration::from_secs(5), running.server)
            .await
            .is_err()
        {
            tracing::warn!(
                component = "status",
                "a status request did not finish within 5s"
            );
        }
        match std::fs::remove_file(&self.socket) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                Err(error).with_context(|| format!("cannot remove {}", self.socket.display()))
            }
            _ => Ok(()),
        }
    }
}

/// Removes what a killed node left at `path` (its socket, or any file), unless a live process
/// still answers there (k0s removes a leftover it cannot connect to, too).
fn remove_leftover(path: &Path) -> anyhow::Result<()> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    anyhow::ensure!(
        std::os::unix::net::UnixStream::connect(path).is_err(),
        "{}: another process serves a status socket there (is another k0rs running with this --status-socket?)",
        path.display()
    );
    std::fs::remove_file(path)
        .with_context(|| format!("cannot remove the leftover {}", path.display()))
}

async fn status(State(shared): State<Arc<Shared>>) -> Json<NodeStatus> {
    let mut status = shared.status.clone();
    status.api_probe = lock(&shared.api).clone();
    Json(status)
}

#[derive(serde::Deserialize)]
struct ComponentsQuery {
    #[serde(rename = "maxCount")]
    max_count: Option<String>,
}

async fn components(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<ComponentsQuery>,
) -> Json<ComponentsReport> {
    let max_count = query
        .max_count
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_MAX_COUNT);
    Json(ComponentsReport::of(&shared.states.snapshot(), max_count))
}

fn lock(api: &Mutex<ProbeStatus>) -> std::sync::MutexGuard<'_, ProbeStatus> {
    api.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Probes the API server's `/readyz` with `kubeconfig` until stopped, recording each result.
async fn probe_api(kubeconfig: PathBuf, shared: Arc<Shared>) {
    let mut client = None;
    loop {
        let result = probe_once(&kubeconfig, &mut client).await;
        if result.is_err() {
            // The kubeconfig may be written (or rewritten) meanwhile: read it afresh next time.
            client = None;
        }
        let ok = result.is_ok();
        *lock(&shared.api) = ProbeStatus {
            message: result.err().map(|e| format!("{e:#}")).unwrap_or_default(),
            success: ok,
        };
        let pause = if ok {
            PROBE_INTERVAL_OK
        } else {
            PROBE_INTERVAL_FAILING
        };
        tokio::time::sleep(pause).await;
    }
}

async fn probe_once(kubeconfig: &Path, client: &mut Option<kube::Client>) -> anyhow::Result<()> {
    if client.is_none() {
        let yaml = std::fs::read_to_string(kubeconfig)
            .with_context(|| format!("cannot read {}", kubeconfig.display()))?;
        *client = Some(k0rs_runtime::client_from_yaml(&yaml, "k0rs-status").await?);
    }
    let client = client.as_ref().context("no API client")?;
    let request = http::Request::get("/readyz")
        .body(Vec::new())
        .context("cannot build the probe request")?;
    tokio::time::timeout(PROBE_TIMEOUT, client.request_text(request))
        .await
        .with_context(|| format!("GET /readyz: no answer within {PROBE_TIMEOUT:?}"))?
        .context("GET /readyz")?;
    Ok(())
}
