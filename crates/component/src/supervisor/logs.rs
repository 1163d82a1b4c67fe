//! A child's output, passed on to k0rs's log line by line under the child's component tag: read
//! from a pipe, or followed in the file the child appends to (see [`super::Output`]).

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncSeekExt as _, BufReader};
use tokio::sync::watch;

/// How often a followed file is read again once everything in it has been passed on.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(200);
/// A followed file is emptied once it has been read to its end and has grown past this: the
/// lines are in k0rs's log by then. (A line the child appends between the last read and the
/// truncation is lost; rare, and only a log line.)
const MAX_FOLLOWED_LEN: u64 = 16 << 20;

/// Passes lines on at debug level, unless the child reports an error: containerd and etcd both
/// say so in the line (`level=error`, `"level":"error"`), and their warnings are mostly routine.
pub async fn forward(name: &'static str, stream: impl AsyncRead + Unpin) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        log(name, &line);
    }
}

/// Follows `path` from its current end (what is there was passed on by an earlier k0rs) until
/// `done` turns true, then passes on what is left. A file that shrinks (emptied for a new child)
/// is read again from its start.
pub async fn follow(name: &'static str, path: PathBuf, mut done: watch::Receiver<bool>) {
    let mut position = tokio::fs::metadata(&path).await.map_or(0, |m| m.len());
    loop {
        let finished = *done.borrow();
        position = pass_on(name, &path, position).await;
        if finished {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(FOLLOW_INTERVAL) => {}
            _ = done.changed() => {}
        }
    }
}

/// Passes on the complete lines of `path` after `position`; returns where it stopped.
async fn pass_on(name: &'static str, path: &Path, mut position: u64) -> u64 {
    let Ok(mut file) = tokio::fs::File::open(path).await else {
        return 0;
    };
    let len = file.metadata().await.map_or(0, |m| m.len());
    if len < position {
        position = 0;
    }
    if file.seek(SeekFrom::Start(position)).await.is_err() {
        return position;
    }
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    // Only whole lines: a line still being written is read on the next round.
    while let Ok(n) = reader.read_line(&mut line).await {
        if n == 0 || !line.ends_with('\n') {
            break;
        }
        position += n as u64;
        log(name, line.trim_end());
        line.clear();
    }
    if position >= MAX_FOLLOWED_LEN
        && let Ok(file) = std::fs::OpenOptions::new().write(true).open(path)
        && file.set_len(0).is_ok()
    {
        position = 0;
    }
    position
}

fn log(name: &'static str, line: &str) {
    if is_error(line) {
        tracing::warn!(component = name, "{line}");
    } else {
        tracing::debug!(component = name, "{line}");
    }
}

fn is_error(line: &str) -> bool {
    [
        "level=error",
        "level=fatal",
        "\"level\":\"error\"",
        "\"level\":\"fatal\"",
        "\"level\":\"panic\"",
    ]
    .iter()
    .any(|marker| line.contains(marker))
}

#[cfg(test)]
mod tests {
    #[test]
    fn errors_of_containerd_and_etcd_are_recognised() {
        assert!(super::is_error("time=\"…\" level=error msg=\"x\""));
        assert!(super::is_error(r#"{"level":"fatal","msg":"x"}"#));
        assert!(!super::is_error("time=\"…\" level=info msg=\"x\""));
        assert!(!super::is_error(r#"{"level":"warn","msg":"x"}"#));
    }
}
