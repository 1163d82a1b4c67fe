//! A CRI client over a Unix socket. Every call is a thin wrapper that names itself in its error, so
//! that a failing pod says "RunPodSandbox: …" and not only a gRPC status.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use k8s_cri::v1 as api;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use tokio::net::UnixStream;
use tonic::transport::{Endpoint, Uri};

use crate::dialect::Dialect;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot connect to the CRI socket {path}: {source}")]
    Connect {
        path: PathBuf,
        source: tonic::transport::Error,
    },
    #[error("CRI {call}: {message} ({code:?})")]
    Call {
        call: &'static str,
        code: tonic::Code,
        message: String,
    },
}

impl Error {
    /// The gRPC status code of a failed call (`NotFound` lets callers treat "already gone" as done).
    pub fn code(&self) -> Option<tonic::Code> {
        match self {
            Error::Call { code, .. } => Some(*code),
            Error::Connect { .. } => None,
        }
    }
}

type Result<T> = std::result::Result<T, Error>;

/// That the runtime speaks only v1alpha2 is said once per process: every client (a readiness
/// probe makes one each time) finds it.
static V1ALPHA2_SAID: std::sync::Once = std::sync::Once::new();

/// The runtime and image services of one CRI endpoint. Cheap to clone: clones share the channel.
#[derive(Debug, Clone)]
pub struct Cri {
    runtime: RuntimeServiceClient<Dialect>,
    images: ImageServiceClient<Dialect>,
    dialect: Dialect,
}

/// A call's reply, or its status turned into an [`Error`] naming the call.
fn reply<T>(
    call: &'static str,
    result: std::result::Result<tonic::Response<T>, tonic::Status>,
) -> Result<T> {
    result
        .map(tonic::Response::into_inner)
        .map_err(|status| Error::Call {
            call,
            code: status.code(),
            message: status.message().to_owned(),
        })
}

impl Cri {
    /// Connects lazily to the socket at `path`: the first call opens the connection, and a call after
    /// the runtime restarted reconnects.
    pub fn connect(path: &Path) -> Result<Self> {
        let socket = path.to_path_buf();
        // The URI is required by tonic but unused: the connector ignores it.
        let channel =
            Endpoint::from_static("http://[::]:50051")
                .connect_timeout(Duration::from_secs(5))
                .connect_with_connector_lazy(tower::service_fn(move |_: Uri| {
                    let socket = socket.clone();
                    async move {
                        Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(socket).await?))
                    }
                }));
        let dialect = Dialect::new(channel);
        Ok(Self {
            runtime: RuntimeServiceClient::new(dialect.clone()),
            images: ImageServiceClient::new(dialect.clone()),
            dialect,
        })
    }

    /// The runtime's version. Callers ask it first: when the runtime does not serve CRI v1
    /// (containerd before 1.6) but v1alpha2, this switches every later call to v1alpha2.
    pub async fn version(&self) -> Result<api::VersionResponse> {
        let request = api::VersionRequest {
            version: "v1".into(),
        };
        match self.runtime.clone().version(request.clone()).await {
            Err(status)
                if status.code() == tonic::Code::Unimplemented && !self.dialect.is_v1alpha2() =>
            {
                self.dialect.set_v1alpha2(true);
                let answer = reply("Version", self.runtime.clone().version(request).await);
                if answer.is_err() {
                    // Neither: the runtime's own answer to v1 is the error to report.
                    self.dialect.set_v1alpha2(false);
                    return reply("Version", Err(status));
                }
                V1ALPHA2_SAID.call_once(|| {
                    tracing::warn!(
                        component = "cri",
                        "the runtime serves CRI v1alpha2, not v1 (containerd before 1.6): speaking v1alpha2"
                    );
                });
                answer
            }
            result => reply("Version", result),
        }
    }

    /// Whether the runtime is spoken to in CRI v1alpha2.
    pub fn is_v1alpha2(&self) -> bool {
        self.dialect.is_v1alpha2()
    }

    pub async fn status(&self) -> Result<api::StatusResponse> {
        let request = api::StatusRequest { verbose: false };
        reply("Status", self.runtime.clone().status(request).await)
    }

    pub async fn run_pod_sandbox(&self, config: api::PodSandboxConfig) -> Result<String> {
        let request = api::RunPodSandboxRequest {
            config: Some(config),
            runtime_handler: String::new(),
        };
        reply(
            "RunPodSandbox",
            self.runtime.clone().run_pod_sandbox(request).await,
        )
        .map(|r| r.pod_sandbox_id)
    }

    pub async fn stop_pod_sandbox(&self, id: &str) -> Result<()> {
        let request = api::StopPodSandboxRequest {
            pod_sandbox_id: id.into(),
        };
        reply(
            "StopPodSandbox",
            self.runtime.clone().stop_pod_sandbox(request).await,
        )
        .map(drop)
    }

    pub async fn remove_pod_sandbox(&self, id: &str) -> Result<()> {
        let request = api::RemovePodSandboxRequest {
            pod_sandbox_id: id.into(),
        };
        reply(
            "RemovePodSandbox",
            self.runtime.clone().remove_pod_sandbox(request).await,
        )
        .map(drop)
    }

    pub async fn pod_sandbox_status(&self, id: &str) -> Result<api::PodSandboxStatus> {
        let request = api::PodSandboxStatusRequest {
            pod_sandbox_id: id.into(),
            verbose: false,
        };
        let status = reply(
            "PodSandboxStatus",
            self.runtime.clone().pod_sandbox_status(request).await,
        )?;
        status.status.ok_or(Error::Call {
            call: "PodSandboxStatus",
            code: tonic::Code::Internal,
            message: format!("the runtime returned no status for sandbox {id}"),
        })
    }

    /// The sandboxes whose labels include every `labels` pair (all of them when empty).
    pub async fn list_pod_sandboxes(
        &self,
        labels: &[(&str, &str)],
    ) -> Result<Vec<api::PodSandbox>> {
        let filter = (!labels.is_empty()).then(|| api::PodSandboxFilter {
            label_selector: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Default::default()
        });
        let request = api::ListPodSandboxRequest { filter };
        reply(
            "ListPodSandbox",
            self.runtime.clone().list_pod_sandbox(request).await,
        )
        .map(|r| r.items)
    }

    pub async fn create_container(
        &self,
        sandbox_id: &str,
        config: api::ContainerConfig,
        sandbox_config: api::PodSandboxConfig,
    ) -> Result<String> {
        let request = api::CreateContainerRequest {
            pod_sandbox_id: sandbox_id.into(),
            config: Some(config),
            sandbox_config: Some(sandbox_config),
        };
        reply(
            "CreateContainer",
            self.runtime.clone().create_container(request).await,
        )
        .map(|r| r.container_id)
    }

    pub async fn start_container(&self, id: &str) -> Result<()> {
        let request = api::StartContainerRequest {
            container_id: id.into(),
        };
        reply(
            "StartContainer",
            self.runtime.clone().start_container(request).await,
        )
        .map(drop)
    }

    /// Stops a container: SIGTERM (or its image's stop signal), then SIGKILL after `timeout_seconds`.
    pub async fn stop_container(&self, id: &str, timeout_seconds: i64) -> Result<()> {
        let request = api::StopContainerRequest {
            container_id: id.into(),
            timeout: timeout_seconds,
        };
        reply(
            "StopContainer",
            self.runtime.clone().stop_container(request).await,
        )
        .map(drop)
    }

    pub async fn remove_container(&self, id: &str) -> Result<()> {
        let request = api::RemoveContainerRequest {
            container_id: id.into(),
        };
        reply(
            "RemoveContainer",
            self.runtime.clone().remove_container(request).await,
        )
        .map(drop)
    }

    /// Asks the runtime to reopen a container's log file (after the kubelet rotated it).
    pub async fn reopen_container_log(&self, id: &str) -> Result<()> {
        let request = api::ReopenContainerLogRequest {
            container_id: id.into(),
        };
        reply(
            "ReopenContainerLog",
            self.runtime.clone().reopen_container_log(request).await,
        )
        .map(drop)
    }

    /// The containers of one sandbox, or of all when `sandbox_id` is `None`.
    pub async fn list_containers(&self, sandbox_id: Option<&str>) -> Result<Vec<api::Container>> {
        let filter = sandbox_id.map(|id| api::ContainerFilter {
            pod_sandbox_id: id.to_owned(),
            ..Default::default()
        });
        let request = api::ListContainersRequest { filter };
        reply(
            "ListContainers",
            self.runtime.clone().list_containers(request).await,
        )
        .map(|r| r.containers)
    }

    pub async fn container_status(&self, id: &str) -> Result<api::ContainerStatus> {
        let request = api::ContainerStatusRequest {
            container_id: id.into(),
            verbose: false,
        };
        let status = reply(
            "ContainerStatus",
            self.runtime.clone().container_status(request).await,
        )?;
        status.status.ok_or(Error::Call {
            call: "ContainerStatus",
            code: tonic::Code::Internal,
            message: format!("the runtime returned no status for container {id}"),
        })
    }

    /// Runs `command` in a container and returns (exit code, stdout, stderr); for exec probes.
    pub async fn exec_sync(
        &self,
        id: &str,
        command: Vec<String>,
        timeout_seconds: i64,
    ) -> Result<(i32, Vec<u8>, Vec<u8>)> {
        let request = api::ExecSyncRequest {
            container_id: id.into(),
            cmd: command,
            timeout: timeout_seconds,
        };
        reply("ExecSync", self.runtime.clone().exec_sync(request).await)
            .map(|r| (r.exit_code, r.stdout, r.stderr))
    }

    /// A streaming URL (on the runtime's own server) that runs `request`'s command when connected to.
    pub async fn exec(&self, request: api::ExecRequest) -> Result<String> {
        reply("Exec", self.runtime.clone().exec(request).await).map(|r| r.url)
    }

    /// A streaming URL that attaches to a container's stdio.
    pub async fn attach(&self, request: api::AttachRequest) -> Result<String> {
        reply("Attach", self.runtime.clone().attach(request).await).map(|r| r.url)
    }

    /// A streaming URL that forwards ports into a sandbox's network namespace.
    pub async fn port_forward(&self, sandbox_id: &str, ports: Vec<i32>) -> Result<String> {
        let request = api::PortForwardRequest {
            pod_sandbox_id: sandbox_id.into(),
            port: ports,
        };
        reply(
            "PortForward",
            self.runtime.clone().port_forward(request).await,
        )
        .map(|r| r.url)
    }

    /// The image `reference` names, if the runtime has it (no registry is asked).
    pub async fn image_status(&self, reference: &str) -> Result<Option<api::Image>> {
        let request = api::ImageStatusRequest {
            image: Some(api::ImageSpec {
                image: reference.into(),
                ..Default::default()
            }),
            verbose: false,
        };
        reply(
            "ImageStatus",
            self.images.clone().image_status(request).await,
        )
        .map(|r| r.image)
    }

    /// Pulls `reference` from its registry; returns the image's reference (its id).
    pub async fn pull_image(&self, reference: &str) -> Result<String> {
        let request = api::PullImageRequest {
            image: Some(api::ImageSpec {
                image: reference.into(),
                ..Default::default()
            }),
            auth: None,
            sandbox_config: None,
        };
        reply("PullImage", self.images.clone().pull_image(request).await).map(|r| r.image_ref)
    }

    pub async fn list_images(&self) -> Result<Vec<api::Image>> {
        let request = api::ListImagesRequest { filter: None };
        reply("ListImages", self.images.clone().list_images(request).await).map(|r| r.images)
    }

    pub async fn remove_image(&self, reference: &str) -> Result<()> {
        let request = api::RemoveImageRequest {
            image: Some(api::ImageSpec {
                image: reference.into(),
                ..Default::default()
            }),
        };
        reply(
            "RemoveImage",
            self.images.clone().remove_image(request).await,
        )
        .map(drop)
    }
}
