//! Files of a channel directory over HTTP: one path segment for the channel, one for the file,
//! nothing hidden, nothing outside the directory; `Range: bytes=N-[M]` answered with 206, so an
//! interrupted download resumes where it stopped.

use std::io::SeekFrom;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, StatusCode, header};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};

pub fn router(dir: PathBuf) -> Router {
    Router::new()
        .route("/{channel}/{file}", get(serve_file))
        .with_state(Arc::new(dir))
}

/// A path segment that names something inside the directory.
fn safe(segment: &str) -> bool {
    !segment.is_empty() && !segment.starts_with('.') && !segment.contains(['/', '\\', '\0'])
}

async fn serve_file(
    State(dir): State<Arc<PathBuf>>,
    Path((channel, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !safe(&channel) || !safe(&file) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let path = dir.join(&channel).join(&file);
    let mut opened = match tokio::fs::File::open(&path).await {
        Ok(opened) => opened,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return StatusCode::NOT_FOUND.into_response();
        }
        Err(error) => return internal(&path, &error),
    };
    let len = match opened.metadata().await {
        Ok(meta) if meta.is_file() => meta.len(),
        Ok(_) => return StatusCode::NOT_FOUND.into_response(),
        Err(error) => return internal(&path, &error),
    };
    let content_type = if std::path::Path::new(&file)
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("yaml"))
    {
        "application/yaml"
    } else {
        "application/octet-stream"
    };
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| parse_range(v, len));
    let (status, start, end) = match range {
        None => (StatusCode::OK, 0, len),
        Some(Some((start, end))) => (StatusCode::PARTIAL_CONTENT, start, end),
        Some(None) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response();
        }
    };
    if start > 0
        && let Err(error) = opened.seek(SeekFrom::Start(start)).await
    {
        return internal(&path, &error);
    }
    tracing::debug!(
        component = "update-server",
        channel,
        file,
        start,
        end,
        "serving"
    );
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(opened.take(end - start)));
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_LENGTH, (end - start).to_string()),
            (header::ACCEPT_RANGES, "bytes".to_owned()),
        ],
        body,
    )
        .into_response();
    if status == StatusCode::PARTIAL_CONTENT {
        let value = format!("bytes {start}-{}/{len}", end - 1);
        response.headers_mut().insert(
            header::CONTENT_RANGE,
            value.parse().expect("a valid header"),
        );
    }
    response
}

fn internal(path: &std::path::Path, error: &std::io::Error) -> Response {
    tracing::warn!(component = "update-server", path = %path.display(), %error, "cannot serve");
    StatusCode::INTERNAL_SERVER_ERROR.into_response()
}

/// One `bytes=start-[end]` or `bytes=-suffix` range (end inclusive, as HTTP has it) as
/// `[start, end)`; `None` when it cannot be satisfied or is not one such range (several ranges
/// at once are not needed by a downloader that resumes).
fn parse_range(value: &str, len: u64) -> Option<(u64, u64)> {
    let spec = value.strip_prefix("bytes=")?.trim();
    let (start, end) = spec.split_once('-')?;
    if start.is_empty() {
        // `bytes=-N`: the last N bytes.
        let n: u64 = end.parse().ok()?;
        return (n > 0 && len > 0).then(|| (len.saturating_sub(n), len));
    }
    let start: u64 = start.parse().ok()?;
    let end = if end.is_empty() {
        len
    } else {
        end.parse::<u64>().ok()?.saturating_add(1).min(len)
    };
    (start < len && start < end).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-", 10), Some((0, 10)));
        assert_eq!(parse_range("bytes=4-", 10), Some((4, 10)));
        assert_eq!(parse_range("bytes=4-5", 10), Some((4, 6)));
        assert_eq!(parse_range("bytes=4-100", 10), Some((4, 10)));
        assert_eq!(parse_range("bytes=-3", 10), Some((7, 10)));
        assert_eq!(parse_range("bytes=10-", 10), None);
        assert_eq!(parse_range("bytes=5-4", 10), None);
        assert_eq!(parse_range("items=0-1", 10), None);
    }

    #[test]
    fn only_plain_names_are_served() {
        assert!(safe("stable"));
        assert!(safe("k0rs-v1.28.15+k0rs.1-amd64"));
        for bad in ["", "..", ".hidden", "a/b", "a\\b"] {
            assert!(!safe(bad), "{bad:?}");
        }
    }
}
