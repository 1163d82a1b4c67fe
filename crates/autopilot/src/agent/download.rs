//! Downloading an artifact into the node's autopilot directory: resumed where a previous attempt
//! stopped (an HTTP range request on the `.part` file), with progress in the log, then checked
//! against the plan's SHA-256. The file appears under its final name only when whole and checked.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use http_body_util::BodyExt as _;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;

use crate::net::HttpClient;

/// No byte for this long: the attempt fails (and the next one resumes).
const STALL: Duration = Duration::from_mins(1);
/// A progress line at most this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("{url}: {reason}")]
    Failed { url: String, reason: String },
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: sha256 is {actual}, the plan says {expected}")]
    Checksum {
        url: String,
        actual: String,
        expected: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Fetches `url` to `dir/<name>` (resuming `dir/<name>.part`), checks `sha256` when given, and
/// returns the path.
pub async fn fetch(
    client: &HttpClient,
    url: &str,
    sha256: &str,
    dir: &Path,
    name: &str,
) -> Result<PathBuf, DownloadError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| DownloadError::Io { path, source }
    };
    let failed = |reason: String| DownloadError::Failed {
        url: url.to_owned(),
        reason,
    };
    tokio::fs::create_dir_all(dir).await.map_err(io(dir))?;
    let part = dir.join(format!("{name}.part"));
    let done = dir.join(name);
    let started = Instant::now();
    let mut have = tokio::fs::metadata(&part).await.map_or(0, |m| m.len());
    let uri: http::Uri = url.parse().map_err(|e| failed(format!("not a URL: {e}")))?;
    let response = loop {
        let mut request = http::Request::get(uri.clone());
        if have > 0 {
            request = request.header(http::header::RANGE, format!("bytes={have}-"));
        }
        let request = request
            .body(http_body_util::Empty::new())
            .map_err(|e| failed(e.to_string()))?;
        let response = tokio::time::timeout(STALL, client.request(request))
            .await
            .map_err(|_| failed(format!("no answer within {STALL:?}")))?
            .map_err(|e| failed(e.to_string()))?;
        if have > 0 && response.status() == http::StatusCode::RANGE_NOT_SATISFIABLE {
            // The partial file is no prefix of this artifact (it changed, or was whole): anew.
            tokio::fs::remove_file(&part).await.map_err(io(&part))?;
            have = 0;
            continue;
        }
        break response;
    };
    let status = response.status();
    let resumed = status == http::StatusCode::PARTIAL_CONTENT;
    if !status.is_success() {
        return Err(DownloadError::Status {
            url: url.to_owned(),
            status: status.as_u16(),
        });
    }
    let total = response
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|len| if resumed { len + have } else { len });
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(resumed)
        .truncate(!resumed)
        .open(&part)
        .await
        .map_err(io(&part))?;
    let written = write_body(
        url,
        response.into_body(),
        &mut file,
        if resumed { have } else { 0 },
        total,
    )
    .await
    .map_err(|e| match e {
        BodyError::Io(source) => DownloadError::Io {
            path: part.clone(),
            source,
        },
        BodyError::Failed(reason) => failed(reason),
    })?;
    file.sync_all().await.map_err(io(&part))?;
    drop(file);
    if let Some(total) = total.filter(|t| *t != written) {
        return Err(failed(format!("got {written} of {total} bytes")));
    }
    tracing::info!(
        component = "autopilot",
        url,
        bytes = written,
        ms = started.elapsed().as_millis(),
        "downloaded"
    );
    if !sha256.is_empty() {
        let actual = file_sha256(&part).await.map_err(io(&part))?;
        if !actual.eq_ignore_ascii_case(sha256) {
            // A bad file is not resumed from.
            let _ = tokio::fs::remove_file(&part).await;
            return Err(DownloadError::Checksum {
                url: url.to_owned(),
                actual,
                expected: sha256.to_owned(),
            });
        }
    }
    tokio::fs::rename(&part, &done).await.map_err(io(&done))?;
    Ok(done)
}

enum BodyError {
    Io(std::io::Error),
    Failed(String),
}

/// Appends the response body to `file`, logging progress; the bytes the file then holds.
async fn write_body(
    url: &str,
    mut body: hyper::body::Incoming,
    file: &mut tokio::fs::File,
    mut written: u64,
    total: Option<u64>,
) -> Result<u64, BodyError> {
    if written > 0 {
        tracing::info!(
            component = "autopilot",
            url,
            from = written,
            "resuming the download"
        );
    }
    let mut last = Instant::now();
    loop {
        let frame = tokio::time::timeout(STALL, body.frame())
            .await
            .map_err(|_| {
                BodyError::Failed(format!("no data for {STALL:?} after {written} bytes"))
            })?;
        let Some(frame) = frame else {
            return Ok(written);
        };
        let frame = frame.map_err(|e| BodyError::Failed(e.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        file.write_all(&data).await.map_err(BodyError::Io)?;
        written += data.len() as u64;
        if last.elapsed() >= PROGRESS_EVERY {
            last = Instant::now();
            log_progress(url, written, total);
        }
    }
}

fn log_progress(url: &str, written: u64, total: Option<u64>) {
    match total {
        Some(total) if total > 0 => {
            let percent = written * 100 / total;
            tracing::info!(
                component = "autopilot",
                url,
                progress = format!("{percent}%"),
                bytes = written,
                total,
                "downloading"
            );
        }
        _ => tracing::info!(component = "autopilot", url, bytes = written, "downloading"),
    }
}

/// The hex SHA-256 of a file.
pub async fn file_sha256(path: &Path) -> std::io::Result<String> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(&path)?;
        let mut hasher = Sha256::new();
        std::io::copy(&mut file, &mut hasher)?;
        Ok(hasher.finalize().iter().fold(String::new(), |mut hex, b| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{b:02x}");
            hex
        }))
    })
    .await
    .map_err(std::io::Error::other)?
}

/// A small document (a signature) in full.
pub async fn fetch_text(client: &HttpClient, url: &str) -> Result<String, DownloadError> {
    let body = crate::net::get_small(client, url, 1 << 16, STALL)
        .await
        .map_err(|e| match e {
            crate::net::GetError::Failed(reason) => DownloadError::Failed {
                url: url.to_owned(),
                reason,
            },
            crate::net::GetError::Status(status) => DownloadError::Status {
                url: url.to_owned(),
                status,
            },
        })?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The update server's files, on a free loopback port.
    async fn server(dir: &Path) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(crate::server::serve(
            listener,
            crate::server::router(dir.to_owned()),
            None,
        ));
        format!("http://{address}")
    }

    #[tokio::test]
    async fn resumes_a_partial_download_and_checks_the_whole() {
        let served = tempfile::tempdir().unwrap();
        let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::create_dir(served.path().join("stable")).unwrap();
        std::fs::write(served.path().join("stable").join("k0rs"), &content).unwrap();
        let base = server(served.path()).await;
        let url = format!("{base}/stable/k0rs");
        let sha = crate::server::sha256_hex(content.as_slice()).unwrap();
        let client = crate::net::client().unwrap();
        let into = tempfile::tempdir().unwrap();

        // A first attempt stopped halfway, then a correct prefix: resumed.
        std::fs::write(into.path().join("k0rs.part"), &content[..70_000]).unwrap();
        let done = fetch(&client, &url, &sha, into.path(), "k0rs")
            .await
            .unwrap();
        assert_eq!(std::fs::read(&done).unwrap(), content);
        assert!(!into.path().join("k0rs.part").exists());

        // A prefix of something else: resumed from too (a download that started over would
        // succeed here, so this proves the range request), the whole no longer matches, and
        // nothing is kept to resume from.
        std::fs::write(into.path().join("other.part"), vec![0xffu8; 1000]).unwrap();
        let error = fetch(&client, &url, &sha, into.path(), "other")
            .await
            .unwrap_err();
        assert!(matches!(error, DownloadError::Checksum { .. }), "{error}");
        assert!(!into.path().join("other.part").exists());
        assert!(!into.path().join("other").exists());
        // The next try starts over, and succeeds.
        let done = fetch(&client, &url, &sha, into.path(), "other")
            .await
            .unwrap();
        assert_eq!(std::fs::read(&done).unwrap(), content);

        // A whole file left as .part (a crash before the rename): the range is past the end,
        // and the download starts over.
        std::fs::write(into.path().join("again.part"), &content).unwrap();
        let done = fetch(&client, &url, &sha, into.path(), "again")
            .await
            .unwrap();
        assert_eq!(std::fs::read(&done).unwrap(), content);

        let missing = fetch(
            &client,
            &format!("{base}/stable/nothing"),
            "",
            into.path(),
            "x",
        )
        .await
        .unwrap_err();
        assert!(
            matches!(missing, DownloadError::Status { status: 404, .. }),
            "{missing}"
        );
    }
}
