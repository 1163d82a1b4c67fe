//! One request to etcd: bounded in time, and what its failure says of its outcome. A membership
//! change that failed has not necessarily not happened: the member that took it may stop before
//! it answers, precisely because the change removed it.

use std::future::Future;
use std::time::Duration;

use anyhow::Context as _;

/// How long one request may take: an etcd without quorum does not answer at all.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a membership change waits for a cluster that has just changed to settle.
const SETTLE: Duration = Duration::from_secs(20);

/// A request etcd did not answer in time.
#[derive(Debug, thiserror::Error)]
#[error("cannot {what}: no answer in {}s (has the cluster lost quorum?)", REQUEST_TIMEOUT.as_secs())]
pub struct NoAnswer {
    what: String,
}

/// How a failed request ended, as far as its error tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Refused for now: etcd's strict reconfiguration check turns membership changes down while
    /// its leader has not been connected to every member for five seconds, which passes.
    NotYet,
    /// Not known: the member stopped or went silent before it answered. A member stops as soon
    /// as it applies its own removal (etcd's "server stopped" to the request still waiting), so
    /// a leave through the leaving member ends this way when it succeeded; so does a change
    /// whose answer was lost to a leader change or a timeout.
    Unknown,
    /// Failed, and did nothing.
    Failed,
}

/// What the error of a request says of its outcome.
pub fn outcome(error: &anyhow::Error) -> Outcome {
    for cause in error.chain() {
        if cause.is::<NoAnswer>() {
            return Outcome::Unknown;
        }
        match cause.downcast_ref::<etcd_client::Error>() {
            Some(etcd_client::Error::GRpcStatus(status)) => return outcome_of(status.message()),
            // The connection broke: whether the request reached etcd is not known.
            Some(etcd_client::Error::TransportError(_) | etcd_client::Error::IoError(_)) => {
                return Outcome::Unknown;
            }
            Some(_) => return Outcome::Failed,
            None => {}
        }
    }
    Outcome::Failed
}

/// The outcome an etcd server's error message stands for (its `rpctypes` errors, which name the
/// case in the message while several share the gRPC code `Unavailable`).
fn outcome_of(message: &str) -> Outcome {
    // "request timed out" starts the variants that name a cause too.
    const UNKNOWN: [&str; 4] = [
        "etcdserver: server stopped",
        "etcdserver: request timed out",
        "etcdserver: leader changed",
        "etcdserver: no leader",
    ];
    if message.contains("etcdserver: unhealthy cluster") {
        Outcome::NotYet
    } else if UNKNOWN.iter().any(|known| message.contains(known)) {
        Outcome::Unknown
    } else {
        Outcome::Failed
    }
}

/// A membership change, tried again while etcd turns it down for now (until `SETTLE`).
pub async fn reconfigure<T, Fut>(what: &str, request: impl Fn() -> Fut) -> anyhow::Result<T>
where
    Fut: Future<Output = Result<T, etcd_client::Error>>,
{
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        // Boxed: etcd-client's request futures are large, and this one is held across retries.
        match timed(what, Box::pin(request())).await {
            Err(e) if outcome(&e) == Outcome::NotYet && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            result => return result,
        }
    }
}

/// `request`, failed with [`NoAnswer`] if etcd does not answer within `REQUEST_TIMEOUT`.
pub async fn timed<T>(
    what: &str,
    request: impl Future<Output = Result<T, etcd_client::Error>>,
) -> anyhow::Result<T> {
    match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
        Ok(result) => result.with_context(|| format!("cannot {what}")),
        Err(_) => Err(NoAnswer {
            what: what.to_owned(),
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_or_silent_member_leaves_the_outcome_unknown() {
        assert_eq!(outcome_of("etcdserver: server stopped"), Outcome::Unknown);
        assert_eq!(outcome_of("etcdserver: leader changed"), Outcome::Unknown);
        assert_eq!(
            outcome_of("etcdserver: request timed out"),
            Outcome::Unknown
        );
        let no_answer = anyhow::Error::from(NoAnswer {
            what: "remove the etcd member".into(),
        });
        assert_eq!(outcome(&no_answer), Outcome::Unknown);
        let broken = etcd_client::Error::IoError(std::io::ErrorKind::ConnectionReset.into());
        let broken = Err::<(), _>(broken).context("cannot remove the etcd member");
        assert_eq!(outcome(&broken.unwrap_err()), Outcome::Unknown);
    }

    #[test]
    fn an_unsettled_cluster_is_asked_again_and_a_refusal_is_final() {
        assert_eq!(outcome_of("etcdserver: unhealthy cluster"), Outcome::NotYet);
        assert_eq!(outcome_of("etcdserver: member not found"), Outcome::Failed);
        assert_eq!(
            outcome_of("etcdserver: re-configuration failed due to not enough started members"),
            Outcome::Failed
        );
        let invalid = etcd_client::Error::InvalidArgs("no endpoints".into());
        assert_eq!(outcome(&anyhow::Error::from(invalid)), Outcome::Failed);
        assert_eq!(outcome(&anyhow::anyhow!("anything else")), Outcome::Failed);
    }
}
