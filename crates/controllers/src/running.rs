//! Starting and stopping the in-process control loops: a kube client from the component's
//! kubeconfig, a leader election on the component's Lease, the work while leading.

use std::future::Future;
use std::path::Path;

use anyhow::Context as _;
use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::leader::Election;

/// A control loop running under leader election until stopped.
#[derive(Debug)]
pub struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Running {
    /// Stops the work and gives the Lease up.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// A client that authenticates with the kubeconfig at `path` (a client certificate) and names
/// itself `component` (its User-Agent, hence its field manager, as in Kubernetes).
pub async fn client(path: &Path, component: &str) -> anyhow::Result<Client> {
    let yaml =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    client_from_yaml(&yaml, component)
        .await
        .with_context(|| format!("cannot use {}", path.display()))
}

/// A client from a kubeconfig's text (client certificate or bearer token), named `component`.
pub async fn client_from_yaml(yaml: &str, component: &str) -> anyhow::Result<Client> {
    let kubeconfig = Kubeconfig::from_yaml(yaml).context("not a kubeconfig")?;
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .context("unusable kubeconfig")?;
    let agent = format!("{component}/v{} (k0rs)", env!("CARGO_PKG_VERSION"));
    config.headers.push((
        http::header::USER_AGENT,
        http::HeaderValue::from_str(&agent).context("user agent")?,
    ));
    Client::try_from(config).context("cannot build the API client")
}

/// Runs `work(client)` while holding the Lease `kube-system/<lease>` as `identity`.
pub(crate) async fn start<F, Fut>(
    kubeconfig: &Path,
    lease: &str,
    identity: &str,
    work: F,
) -> anyhow::Result<Running>
where
    F: Fn(Client) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let client = client(kubeconfig, lease).await?;
    let election = Election::new(client.clone(), lease, identity);
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        election.run(|| work(client.clone()), stopped).await;
    });
    Ok(Running { stop, task })
}

/// The scheduler, on Lease `kube-system/kube-scheduler`.
pub async fn start_scheduler(kubeconfig: &Path, identity: &str) -> anyhow::Result<Running> {
    start(
        kubeconfig,
        "kube-scheduler",
        identity,
        crate::scheduler::run,
    )
    .await
}

/// The controller manager, on Lease `kube-system/kube-controller-manager`.
pub async fn start_controller_manager(
    kubeconfig: &Path,
    identity: &str,
    options: crate::manager::Options,
) -> anyhow::Result<Running> {
    start(
        kubeconfig,
        "kube-controller-manager",
        identity,
        move |client| crate::manager::run(client, options.clone()),
    )
    .await
}
