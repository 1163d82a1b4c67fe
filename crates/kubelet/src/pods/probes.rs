//! Startup, liveness and readiness probes (exec, httpGet, tcpSocket, grpc), run from the pod sync with
//! Kubernetes' timing: initialDelaySeconds, periodSeconds, timeoutSeconds, successThreshold and
//! failureThreshold. Results live in memory, by container id: a new container starts unprobed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k0rs_cri::Cri;
use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Startup,
    Liveness,
    Readiness,
}

#[derive(Debug, Default)]
struct State {
    last_run: Option<Instant>,
    successes: i32,
    failures: i32,
    /// The settled result: None until a threshold is reached.
    result: Option<bool>,
}

/// What the probes of one running container say now.
#[derive(Debug, Clone, Copy)]
pub struct Verdict {
    /// The startup probe has passed (or there is none).
    pub started: bool,
    /// The readiness probe passes (or there is none); false until started.
    pub ready: bool,
    /// The liveness or startup probe has failed: the container must be restarted.
    pub failed: Option<Kind>,
    /// When the next probe is due (to wake the sync in time).
    pub next: Duration,
}

/// (pod uid, container id, kind).
type Key = (String, String, Kind);

/// Probe states of the containers of this node's pods.
#[derive(Debug, Default)]
pub struct Probes {
    states: Mutex<HashMap<Key, State>>,
}

/// Where a probe reaches the container.
pub struct Target<'a> {
    pub cri: &'a Cri,
    pub pod_uid: &'a str,
    pub container_id: &'a str,
    /// The pod's IP (the node's for hostNetwork pods).
    pub ip: &'a str,
    /// When the container started.
    pub started_at: Instant,
    /// The container's declared ports (named probe ports resolve against them).
    pub ports: &'a [k8s_openapi::api::core::v1::ContainerPort],
}

fn seconds(value: Option<i32>, default: i32) -> Duration {
    Duration::from_secs(u64::try_from(value.unwrap_or(default).max(0)).unwrap_or(0))
}

impl Probes {
    /// Runs whatever probes of `container` are due and returns their verdict.
    pub async fn check(&self, container: &Container, target: &Target<'_>) -> Verdict {
        let mut verdict = Verdict {
            started: true,
            ready: true,
            failed: None,
            next: Duration::from_secs(10),
        };
        if let Some(probe) = &container.startup_probe
            && !self.passed(target, Kind::Startup)
        {
            let result = self
                .step(Kind::Startup, probe, target, &mut verdict.next)
                .await;
            verdict.started = result == Some(true);
            if result == Some(false) {
                verdict.failed = Some(Kind::Startup);
            }
        }
        if !verdict.started {
            verdict.ready = false;
            return verdict;
        }
        if let Some(probe) = &container.liveness_probe
            && self
                .step(Kind::Liveness, probe, target, &mut verdict.next)
                .await
                == Some(false)
        {
            verdict.failed = Some(Kind::Liveness);
        }
        if let Some(probe) = &container.readiness_probe {
            verdict.ready = self
                .step(Kind::Readiness, probe, target, &mut verdict.next)
                .await
                == Some(true);
        }
        verdict
    }

    /// Whether a probe has settled as passing (a startup probe is not run again once it has).
    fn passed(&self, target: &Target<'_>, kind: Kind) -> bool {
        let key = (
            target.pod_uid.to_owned(),
            target.container_id.to_owned(),
            kind,
        );
        self.states
            .lock()
            .expect("probes")
            .get(&key)
            .is_some_and(|s| s.result == Some(true))
    }

    /// Forgets the probes of a pod that is gone.
    pub fn forget(&self, pod_uid: &str) {
        self.states
            .lock()
            .expect("probes")
            .retain(|(uid, _, _), _| uid != pod_uid);
    }

    async fn step(
        &self,
        kind: Kind,
        probe: &Probe,
        target: &Target<'_>,
        next: &mut Duration,
    ) -> Option<bool> {
        let key = (
            target.pod_uid.to_owned(),
            target.container_id.to_owned(),
            kind,
        );
        let period = seconds(probe.period_seconds, 10).max(Duration::from_secs(1));
        let delay = seconds(probe.initial_delay_seconds, 0);
        let now = Instant::now();
        {
            let states = self.states.lock().expect("probes");
            let state = states.get(&key);
            let earliest = match state.and_then(|s| s.last_run) {
                Some(last) => last + period,
                None => target.started_at + delay,
            };
            *next = (*next).min(
                earliest
                    .saturating_duration_since(now)
                    .max(Duration::from_millis(200)),
            );
            if earliest > now {
                return state.and_then(|s| s.result).or_else(|| initial(kind));
            }
        }
        let ok = run(probe, target).await;
        let mut states = self.states.lock().expect("probes");
        let state = states.entry(key).or_default();
        state.last_run = Some(Instant::now());
        if ok {
            state.successes += 1;
            state.failures = 0;
            if state.successes >= probe.success_threshold.unwrap_or(1).max(1) {
                state.result = Some(true);
            }
        } else {
            state.failures += 1;
            state.successes = 0;
            if state.failures >= probe.failure_threshold.unwrap_or(3).max(1) {
                state.result = Some(false);
            }
        }
        *next = (*next).min(period);
        state.result.or_else(|| initial(kind))
    }
}

/// The result before a probe settles: liveness counts as passing, the others as not yet.
fn initial(kind: Kind) -> Option<bool> {
    (kind == Kind::Liveness).then_some(true)
}

/// One attempt of `probe`, within its timeout.
async fn run(probe: &Probe, target: &Target<'_>) -> bool {
    let timeout = seconds(probe.timeout_seconds, 1).max(Duration::from_secs(1));
    if let Some(exec) = &probe.exec {
        let command = exec.command.clone().unwrap_or_default();
        let secs = i64::try_from(timeout.as_secs()).unwrap_or(1);
        return matches!(
            target
                .cri
                .exec_sync(target.container_id, command, secs)
                .await,
            Ok((0, _, _))
        );
    }
    if let Some(http) = &probe.http_get {
        let Some(request) = HttpProbe::of(http, target.ip, target.ports) else {
            return false;
        };
        return tokio::time::timeout(timeout, http_get(&request))
            .await
            .unwrap_or(false);
    }
    if let Some(tcp) = &probe.tcp_socket {
        let Some(port) = resolve_port(&tcp.port, target.ports) else {
            return false;
        };
        let host = tcp.host.clone().unwrap_or_else(|| target.ip.to_owned());
        return matches!(
            tokio::time::timeout(
                timeout,
                tokio::net::TcpStream::connect((host.as_str(), port))
            )
            .await,
            Ok(Ok(_))
        );
    }
    if let Some(grpc) = &probe.grpc {
        let Ok(port) = u16::try_from(grpc.port) else {
            return false;
        };
        let service = grpc.service.as_deref().unwrap_or_default();
        return super::grpc_probe::check(target.ip, port, service, timeout).await;
    }
    // A probe with no handler is refused by validation; were one to arrive, it passes, as in
    // the kubelet.
    true
}

/// A port given by number or by the name of one of the container's ports.
fn resolve_port(
    value: &IntOrString,
    ports: &[k8s_openapi::api::core::v1::ContainerPort],
) -> Option<u16> {
    match value {
        IntOrString::Int(p) => u16::try_from(*p).ok(),
        IntOrString::String(name) => name.parse().ok().or_else(|| {
            ports
                .iter()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .and_then(|p| u16::try_from(p.container_port).ok())
        }),
    }
}

/// An httpGet probe's (or lifecycle hook's) request.
pub(super) struct HttpProbe {
    host: String,
    port: u16,
    path: String,
    /// `scheme: HTTPS`: TLS without verifying the certificate, as the kubelet does.
    https: bool,
    /// `httpHeaders`, which may replace the default Host, User-Agent and Accept.
    headers: Vec<(String, String)>,
}

impl HttpProbe {
    /// The request of `action` to a container at `ip` (`None`: its named port does not exist).
    pub(super) fn of(
        action: &k8s_openapi::api::core::v1::HTTPGetAction,
        ip: &str,
        ports: &[k8s_openapi::api::core::v1::ContainerPort],
    ) -> Option<Self> {
        Some(Self {
            host: action.host.clone().unwrap_or_else(|| ip.to_owned()),
            port: resolve_port(&action.port, ports)?,
            path: action.path.clone().unwrap_or_else(|| "/".into()),
            https: action.scheme.as_deref() == Some("HTTPS"),
            headers: action
                .http_headers
                .iter()
                .flatten()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect(),
        })
    }

    fn request(&self) -> String {
        let given = |name: &str| {
            self.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        let mut text = format!("GET {} HTTP/1.1\r\n", self.path);
        let defaults = [
            ("Host", format!("{}:{}", self.host, self.port)),
            ("User-Agent", "kube-probe/1.28".to_owned()),
            ("Accept", "*/*".to_owned()),
        ];
        let headers = defaults
            .iter()
            .filter(|(name, _)| !given(name))
            .map(|(n, v)| ((*n).to_owned(), v.clone()))
            .chain(self.headers.iter().cloned());
        for (name, value) in headers {
            text.push_str(&name);
            text.push_str(": ");
            text.push_str(&value);
            text.push_str("\r\n");
        }
        text.push_str("Connection: close\r\n\r\n");
        text
    }
}

/// One GET: a 200–399 answer passes (the kubelet's rule).
pub(super) async fn http_get(probe: &HttpProbe) -> bool {
    let Ok(tcp) = tokio::net::TcpStream::connect((probe.host.as_str(), probe.port)).await else {
        return false;
    };
    if !probe.https {
        return exchange(tcp, &probe.request()).await;
    }
    let Ok(config) = k0rs_pki::AnyCertificate::client_config() else {
        return false;
    };
    let name = match probe.host.parse::<std::net::IpAddr>() {
        Ok(ip) => rustls::pki_types::ServerName::IpAddress(ip.into()),
        Err(_) => match rustls::pki_types::ServerName::try_from(probe.host.clone()) {
            Ok(name) => name,
            Err(_) => return false,
        },
    };
    match tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
    {
        Ok(tls) => exchange(tls, &probe.request()).await,
        Err(_) => false,
    }
}

async fn exchange<S>(mut stream: S, request: &str) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if stream.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut head = [0u8; 32];
    let Ok(n) = stream.read(&mut head).await else {
        return false;
    };
    let line = String::from_utf8_lossy(&head[..n]);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .is_some_and(|code| (200..400).contains(&code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_requests_carry_the_headers_asked_for() {
        let probe = HttpProbe {
            host: "10.0.0.1".into(),
            port: 8080,
            path: "/healthz".into(),
            https: false,
            headers: vec![
                ("Host".into(), "example.test".into()),
                ("X-Probe".into(), "yes".into()),
            ],
        };
        let text = probe.request();
        assert!(text.starts_with("GET /healthz HTTP/1.1\r\n"), "{text}");
        assert!(
            text.contains("Host: example.test\r\n") && !text.contains("Host: 10.0.0.1"),
            "{text}"
        );
        assert!(
            text.contains("X-Probe: yes\r\n") && text.contains("User-Agent: kube-probe/1.28\r\n"),
            "{text}"
        );
        assert!(text.ends_with("\r\n\r\n"));
    }
}
