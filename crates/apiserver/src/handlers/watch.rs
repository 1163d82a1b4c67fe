//! Watches over HTTP: one JSON event per line, streamed until `timeoutSeconds` or until the client
//! goes away, with `BOOKMARK` events for clients that allow them (`allowWatchBookmarks`) and the
//! initial-events protocol of `sendInitialEvents`.

use std::time::Duration;

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use k0rs_api::Status;
use k0rs_registry::{Resource, WatchNext, WatchShape};

use crate::context::Context;
use crate::http::negotiate::{self, Output};
use crate::http::query::{Query, filter};

/// How long a watch lasts unless `timeoutSeconds` says otherwise (Kubernetes picks 30–60 min).
const DEFAULT_TIMEOUT: Duration = Duration::from_mins(30);

/// How often a quiet watch gets a bookmark (Kubernetes sends one about every minute).
const BOOKMARK_INTERVAL: Duration = Duration::from_mins(1);

fn flag(query: &Query, name: &str) -> Result<Option<bool>, Status> {
    match query.get(name).map(String::as_str) {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(other) => Err(Status::bad_request(format!("invalid {name} {other:?}"))),
    }
}

pub async fn serve(
    context: &Context,
    resource: &'static Resource,
    namespace: Option<&str>,
    query: &Query,
    output: Output,
) -> Result<Response, Status> {
    let timeout = match query.get("timeoutSeconds") {
        Some(secs) => Duration::from_secs(
            secs.parse()
                .map_err(|_| Status::bad_request(format!("invalid timeoutSeconds {secs:?}")))?,
        ),
        None => DEFAULT_TIMEOUT,
    };
    let bookmarks = flag(query, "allowWatchBookmarks")?.unwrap_or(false);
    let send_initial_events = flag(query, "sendInitialEvents")?;
    if send_initial_events == Some(true) && !bookmarks {
        return Err(Status::invalid(
            "meta.k8s.io",
            "ListOptions",
            "",
            vec![k0rs_api::StatusCause {
                kind: Some("FieldValueForbidden".into()),
                message: "Forbidden: sendInitialEvents is forbidden for watch unless the WatchBookmarks feature gate is enabled and allowWatchBookmarks is set".into(),
                field: Some("sendInitialEvents".into()),
            }],
        ));
    }
    let mut events = context
        .registry
        .watch_with(
            resource,
            namespace,
            query.get("resourceVersion").map(String::as_str),
            filter(resource, query)?,
            send_initial_events,
        )
        .await?;
    let (sender, receiver) =
        tokio::sync::mpsc::channel::<Result<axum::body::Bytes, std::convert::Infallible>>(16);
    let registered = crate::metrics::Registered::new(resource);
    tokio::spawn(async move {
        let _registered = registered;
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut ticks = tokio::time::interval(BOOKMARK_INTERVAL);
        ticks.tick().await;
        // JSON and metadata clients get lines spliced from the stored bytes; tables are built
        // from parsed objects.
        let shape = match output {
            Output::Json | Output::Yaml => Some(WatchShape::Object),
            Output::Metadata => Some(WatchShape::Metadata),
            Output::Table(_) => None,
        };
        loop {
            let next = tokio::select! {
                next = async {
                    match shape {
                        Some(shape) => events.next_line(shape).await,
                        None => events.next().await.map(WatchNext::Event),
                    }
                } => next,
                // No bookmark while read events wait to be sent: they come at once anyway.
                _ = ticks.tick(), if bookmarks => match events.bookmark() {
                    Some(bookmark) => Some(WatchNext::Event(bookmark)),
                    None => continue,
                },
                () = &mut deadline => {
                    // A last bookmark tells the client where to resume (when it has had
                    // everything up to it; else it resumes from its last event).
                    if bookmarks && let Some(bookmark) = events.bookmark() {
                        let _ = sender.send(Ok(line(output, resource, bookmark).into())).await;
                    }
                    None
                }
                () = sender.closed() => None,
            };
            let bytes = match next {
                None => return,
                Some(WatchNext::Line(bytes)) => bytes.into(),
                Some(WatchNext::Event(event)) => line(output, resource, event).into(),
            };
            if sender.send(Ok(bytes)).await.is_err() {
                return;
            }
        }
    });
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(receiver));
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// One event as a line, its object in the client's output.
fn line(output: Output, resource: &Resource, mut event: serde_json::Value) -> String {
    if !matches!(event["type"].as_str(), Some("ERROR" | "BOOKMARK")) {
        match output {
            Output::Table(include) => {
                let object = event["object"].take();
                let table =
                    k0rs_registry::table(resource, &[object], serde_json::json!({}), include);
                event["object"] = table;
            }
            Output::Metadata => event["object"] = negotiate::partial(&event["object"]),
            Output::Json | Output::Yaml => {}
        }
    }
    let mut line = event.to_string();
    line.push('\n');
    line
}
