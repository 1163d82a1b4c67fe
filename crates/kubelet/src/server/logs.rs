//! `containerLogs`: a container's log as `kubectl logs` wants it, read from the CRI log files
//! (`<RFC3339Nano> <stream> <P|F> <text>` lines; `P` lines are parts of a longer line). Supports
//! tailLines, sinceSeconds/sinceTime, timestamps, limitBytes, previous and follow.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use axum::body::Body;
use tokio::io::{AsyncBufReadExt as _, AsyncSeekExt as _, BufReader};
use tokio::sync::mpsc;

/// What the caller asked for.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub follow: bool,
    pub tail_lines: Option<usize>,
    /// Only lines at or after this time (seconds since the epoch).
    pub since: Option<i64>,
    pub timestamps: bool,
    pub limit_bytes: Option<usize>,
    pub previous: bool,
}

impl LogOptions {
    pub fn from_query(query: &HashMap<String, String>) -> Result<Self, String> {
        let flag = |name: &str| query.get(name).is_some_and(|v| v == "true" || v == "1");
        let number = |name: &str| -> Result<Option<i64>, String> {
            query
                .get(name)
                .map(|v| {
                    v.parse::<i64>()
                        .map_err(|_| format!("{name}: {v:?} is not a number"))
                })
                .transpose()
        };
        let since = match (number("sinceSeconds")?, query.get("sinceTime")) {
            (Some(seconds), _) => Some(k0rs_api::time::now_unix() - seconds),
            (None, Some(time)) => Some(
                k0rs_api::time::parse_unix(time)
                    .ok_or_else(|| format!("sinceTime: {time:?} is not RFC 3339"))?,
            ),
            (None, None) => None,
        };
        Ok(Self {
            follow: flag("follow"),
            tail_lines: number("tailLines")?.map(|n| usize::try_from(n.max(0)).unwrap_or(0)),
            since,
            timestamps: flag("timestamps"),
            limit_bytes: number("limitBytes")?.map(|n| usize::try_from(n.max(0)).unwrap_or(0)),
            previous: flag("previous"),
        })
    }
}

/// One parsed CRI log line.
struct Line<'a> {
    time: &'a str,
    partial: bool,
    text: &'a str,
}

fn parse(line: &str) -> Option<Line<'_>> {
    let (time, rest) = line.split_once(' ')?;
    let (_stream, rest) = rest.split_once(' ')?;
    let (tag, text) = rest.split_once(' ').unwrap_or((rest, ""));
    Some(Line {
        time,
        partial: tag == "P",
        text,
    })
}

/// Seconds since the epoch of an RFC 3339 timestamp with fractional seconds.
fn seconds_of(time: &str) -> Option<i64> {
    let whole = time.split('.').next()?;
    k0rs_api::time::parse_unix(&format!("{}Z", whole.trim_end_matches('Z')))
}

/// Renders the lines of `text` that pass the options (the tail is applied by the caller).
fn render(options: &LogOptions, raw: &str, out: &mut String) {
    for line in raw.lines() {
        let Some(line) = parse(line) else { continue };
        if let Some(since) = options.since
            && seconds_of(line.time).is_some_and(|t| t < since)
        {
            continue;
        }
        if options.timestamps {
            out.push_str(line.time);
            out.push(' ');
        }
        out.push_str(line.text);
        if !line.partial {
            out.push('\n');
        }
    }
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> &str {
    if n == 0 {
        return "";
    }
    let mut count = 0;
    for (i, b) in text.bytes().enumerate().rev() {
        if b == b'\n' && i + 1 < text.len() {
            count += 1;
            if count == n {
                return &text[i + 1..];
            }
        }
    }
    text
}

/// Streams the log file at `path`: what is there now, then (following) what is appended while
/// `running` says the container runs.
pub fn stream<F, Fut>(path: PathBuf, options: LogOptions, running: F) -> Body
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = bool> + Send,
{
    let (tx, rx) = mpsc::channel::<Result<String, std::io::Error>>(16);
    tokio::spawn(async move {
        let Ok(existing) = tokio::fs::read_to_string(&path).await else {
            let _ = tx
                .send(Err(std::io::Error::other(format!(
                    "cannot read {}",
                    path.display()
                ))))
                .await;
            return;
        };
        let mut rendered = String::new();
        render(&options, &existing, &mut rendered);
        let mut budget = options.limit_bytes.unwrap_or(usize::MAX);
        let first = options
            .tail_lines
            .map_or(rendered.as_str(), |n| tail(&rendered, n));
        if !send(&tx, first, &mut budget).await || !options.follow {
            return;
        }
        let Ok(file) = tokio::fs::File::open(&path).await else {
            return;
        };
        let mut reader = BufReader::new(file);
        if reader
            .seek(std::io::SeekFrom::Start(existing.len() as u64))
            .await
            .is_err()
        {
            return;
        }
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line).await {
                Ok(0) => {
                    if tx.is_closed() || !running().await {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Ok(_) if !line.ends_with('\n') => {
                    // A line still being written: wait for the rest of it.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let mut rest = String::new();
                    let _ = reader.read_line(&mut rest).await;
                    line.push_str(&rest);
                    let mut out = String::new();
                    render(&options, &line, &mut out);
                    if !send(&tx, &out, &mut budget).await {
                        return;
                    }
                }
                Ok(_) => {
                    let mut out = String::new();
                    render(&options, &line, &mut out);
                    if !send(&tx, &out, &mut budget).await {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
    });
    Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// Sends `text` within the byte budget; false once the budget is spent or the reader is gone.
async fn send(
    tx: &mpsc::Sender<Result<String, std::io::Error>>,
    text: &str,
    budget: &mut usize,
) -> bool {
    if text.is_empty() {
        return *budget > 0;
    }
    let mut end = text.len().min(*budget);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    *budget -= end;
    tx.send(Ok(text[..end].to_owned())).await.is_ok() && *budget > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "2026-11-26T04:00:00.123456789Z stdout F one\n2026-11-26T04:00:01.5Z stderr P tw\n2026-11-26T04:00:01.6Z stderr F o\n2026-11-26T04:00:09.0Z stdout F three\n";

    #[test]
    fn partial_lines_join_and_options_filter() {
        let mut out = String::new();
        render(&LogOptions::default(), LOG, &mut out);
        assert_eq!(out, "one\ntwo\nthree\n");
        assert_eq!(tail(&out, 2), "two\nthree\n");
        assert_eq!(tail(&out, 9), out);
        let since = k0rs_api::time::parse_unix("2026-11-26T04:00:05Z");
        let mut out = String::new();
        render(
            &LogOptions {
                since,
                timestamps: true,
                ..LogOptions::default()
            },
            LOG,
            &mut out,
        );
        assert_eq!(out, "2026-11-26T04:00:09.0Z three\n");
    }
}
