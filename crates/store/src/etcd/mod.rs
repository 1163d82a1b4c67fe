//! The etcd backend: a real etcd v3 cluster through its gRPC API, with etcd's errors mapped to the
//! store's typed ones.

mod bbolt;
mod convert;
mod server;
pub mod snapshot;

use async_trait::async_trait;
use etcd_client::{
    Certificate, Client, CompactionOptions, ConnectOptions, GetOptions, Identity, TlsOptions,
    WatchOptions,
};

use self::convert::{kv, map_error, op_responses, txn};
pub use self::server::{EtcdServer, ServerTls};
use crate::error::{Result, StoreError};
use crate::store::{Store, WatchStream};
use crate::types::{
    Event, EventKind, Lease, LeaseId, RangeRequest, RangeResponse, Revision, TxnRequest,
    TxnResponse, WatchRequest, WatchResponse,
};

/// TLS material for etcd client authentication, as PEM.
#[derive(Debug, Clone)]
pub struct EtcdTls {
    pub ca: String,
    pub cert: String,
    pub key: String,
}

#[derive(Debug, Clone, Default)]
pub struct EtcdOptions {
    /// Client URLs, e.g. `https://127.0.0.1:2379`.
    pub endpoints: Vec<String>,
    pub tls: Option<EtcdTls>,
}

/// A store backed by an etcd cluster.
#[derive(Clone)]
pub struct EtcdStore {
    client: Client,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore").finish_non_exhaustive()
    }
}

impl EtcdStore {
    pub async fn connect(options: &EtcdOptions) -> Result<Self> {
        let mut connect =
            ConnectOptions::new().with_connect_timeout(std::time::Duration::from_secs(5));
        if let Some(tls) = &options.tls {
            connect = connect.with_tls(
                TlsOptions::new()
                    .ca_certificate(Certificate::from_pem(&tls.ca))
                    .identity(Identity::from_pem(&tls.cert, &tls.key)),
            );
        }
        let client = Client::connect(&options.endpoints, Some(connect))
            .await
            .map_err(|e| {
                StoreError::Etcd(format!(
                    "cannot connect to {}: {e}",
                    options.endpoints.join(",")
                ))
            })?;
        Ok(Self { client })
    }

    /// etcd does not say up to where it compacted in a failed read; a watch from revision 1 does.
    async fn compact_revision(&self) -> Revision {
        let mut client = self.client.clone();
        let Ok(mut stream) = client
            .watch(vec![0], Some(WatchOptions::new().with_start_revision(1)))
            .await
        else {
            return 0;
        };
        while let Ok(Some(response)) = stream.message().await {
            if response.canceled() || !response.created() {
                return response.compact_revision();
            }
        }
        0
    }

    /// Turns an etcd error into the store's, filling in the revisions etcd leaves out.
    async fn error(&self, error: etcd_client::Error, requested: Revision) -> StoreError {
        match map_error(&error) {
            StoreError::Compacted { .. } => StoreError::Compacted {
                requested,
                compact_revision: self.compact_revision().await,
            },
            StoreError::FutureRevision { .. } => {
                let current = self.current_revision().await.unwrap_or(0);
                StoreError::FutureRevision { requested, current }
            }
            other => other,
        }
    }
}

#[async_trait]
impl Store for EtcdStore {
    async fn range(&self, request: RangeRequest) -> Result<RangeResponse> {
        let options = convert::get_options(&request);
        let mut client = self.client.clone();
        match client.get(request.range.key.clone(), Some(options)).await {
            Ok(response) => Ok(convert::range(&response)),
            Err(e) => Err(self.error(e, request.revision).await),
        }
    }

    async fn txn(&self, request: TxnRequest) -> Result<TxnResponse> {
        request.check_size()?;
        let mut client = self.client.clone();
        match client.txn(txn(&request)).await {
            Ok(response) => Ok(TxnResponse {
                revision: response
                    .header()
                    .map_or(0, etcd_client::ResponseHeader::revision),
                succeeded: response.succeeded(),
                responses: op_responses(&response),
            }),
            Err(e) => Err(self.error(e, 0).await),
        }
    }

    async fn watch(&self, request: WatchRequest) -> Result<WatchStream> {
        let mut options = WatchOptions::new().with_start_revision(request.start_revision);
        if let Some(end) = &request.range.range_end {
            options = options.with_range(end.clone());
        }
        if request.prev_kv {
            options = options.with_prev_key();
        }
        if request.progress_notify {
            options = options.with_progress_notify();
        }
        let mut client = self.client.clone();
        let mut upstream = client
            .watch(request.range.key.clone(), Some(options))
            .await
            .map_err(|e| map_error(&e))?;
        let (sender, stream) = WatchStream::channel(64);
        let start = request.start_revision;
        tokio::spawn(async move {
            let _watcher = crate::metrics::Watcher::open();
            loop {
                let message = tokio::select! {
                    message = upstream.message() => message,
                    () = sender.closed() => return,
                };
                let response = match message {
                    Ok(Some(response)) => response,
                    Ok(None) => return,
                    Err(e) => {
                        let _ = sender.send(Err(map_error(&e))).await;
                        return;
                    }
                };
                if response.compact_revision() > 0 {
                    let compact_revision = response.compact_revision();
                    let _ = sender
                        .send(Err(StoreError::Compacted {
                            requested: start,
                            compact_revision,
                        }))
                        .await;
                    return;
                }
                if response.canceled() {
                    let reason = response.cancel_reason().to_owned();
                    let _ = sender
                        .send(Err(StoreError::Etcd(format!("watch canceled: {reason}"))))
                        .await;
                    return;
                }
                if response.created() && response.events().is_empty() {
                    continue;
                }
                let events: Vec<Event> = response
                    .events()
                    .iter()
                    .filter_map(|e| {
                        let kind = match e.event_type() {
                            etcd_client::EventType::Put => EventKind::Put,
                            etcd_client::EventType::Delete => EventKind::Delete,
                        };
                        Some(Event {
                            kind,
                            kv: kv(e.kv()?),
                            prev_kv: e.prev_kv().map(kv),
                        })
                    })
                    .collect();
                let revision = response
                    .header()
                    .map_or(0, etcd_client::ResponseHeader::revision);
                if let Some(last) = events.last() {
                    // etcd stamps a response with its current revision: past the last event
                    // only while the watch is catching up. When it was written is not known.
                    crate::metrics::watch_delivered(revision - last.kv.mod_revision, None);
                }
                if sender
                    .send(Ok(WatchResponse { revision, events }))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
        Ok(stream)
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        let mut client = self.client.clone();
        let started = std::time::Instant::now();
        match client
            .compact(revision, Some(CompactionOptions::new().with_physical()))
            .await
        {
            Ok(_) => {
                crate::metrics::compacted(revision, Some(started.elapsed()));
                Ok(())
            }
            Err(e) => Err(self.error(e, revision).await),
        }
    }

    async fn current_revision(&self) -> Result<Revision> {
        let mut client = self.client.clone();
        let response = client
            .get(vec![0], Some(GetOptions::new().with_count_only()))
            .await
            .map_err(|e| map_error(&e))?;
        Ok(response
            .header()
            .map_or(0, etcd_client::ResponseHeader::revision))
    }

    async fn lease_grant(&self, ttl_secs: i64) -> Result<Lease> {
        let mut client = self.client.clone();
        let response = client
            .lease_grant(ttl_secs, None)
            .await
            .map_err(|e| map_error(&e))?;
        Ok(Lease {
            id: response.id(),
            ttl: response.ttl(),
        })
    }

    async fn lease_keep_alive(&self, id: LeaseId) -> Result<i64> {
        let mut client = self.client.clone();
        let not_found = |e: etcd_client::Error| match map_error(&e) {
            StoreError::LeaseNotFound(_) => StoreError::LeaseNotFound(id),
            other => other,
        };
        let (mut keeper, mut stream) = client.lease_keep_alive(id).await.map_err(not_found)?;
        keeper.keep_alive().await.map_err(not_found)?;
        match stream.message().await.map_err(not_found)? {
            Some(response) if response.ttl() > 0 => Ok(response.ttl()),
            _ => Err(StoreError::LeaseNotFound(id)),
        }
    }

    async fn lease_revoke(&self, id: LeaseId) -> Result<()> {
        let mut client = self.client.clone();
        client
            .lease_revoke(id)
            .await
            .map(drop)
            .map_err(|e| match map_error(&e) {
                StoreError::LeaseNotFound(_) => StoreError::LeaseNotFound(id),
                other => other,
            })
    }

    async fn db_size(&self) -> Result<u64> {
        let mut client = self.client.clone();
        let status = client.status().await.map_err(|e| map_error(&e))?;
        Ok(u64::try_from(status.db_size()).unwrap_or(0))
    }

    async fn defragment(&self) -> Result<()> {
        let mut client = self.client.clone();
        client
            .defragment()
            .await
            .map(drop)
            .map_err(|e| map_error(&e))
    }
}
