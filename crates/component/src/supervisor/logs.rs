//! A child's output, passed on to k0rs's log line by line under the child's component tag.

use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};

/// Passes lines on at debug level, unless the child reports an error: containerd and etcd both
/// say so in the line (`level=error`, `"level":"error"`), and their warnings are mostly routine.
pub async fn forward(name: &'static str, stream: impl AsyncRead + Unpin) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if is_error(&line) {
            tracing::warn!(component = name, "{line}");
        } else {
            tracing::debug!(component = name, "{line}");
        }
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
