//! The tunnel's wire protocol: lines of text, one message each, on two kinds of connection.
//!
//! A node opens each connection with a hello naming the connection's kind:
//! - `k0rs-tunnel/1 control <node>`: the node's control connection; the server answers `ok` or
//!   `refused <reason>`. From then on the server sends `open <id> <address>` (connect back for
//!   stream `id` to `address`) and `ping`; the node answers `pong` and reports an open it could not
//!   serve with `fail <id> <reason>`.
//! - `k0rs-tunnel/1 data <node> <id>`: the stream the server asked for with `open <id> …`; after
//!   the hello line it carries the bytes of the connection to the address, both ways.

use std::io;
use std::net::SocketAddr;

use tokio::io::{
    AsyncBufRead, AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, AsyncWrite,
    AsyncWriteExt as _, BufReader,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::DEAD_AFTER;

/// The first word of every hello: the protocol and its version.
const VERSION: &str = "k0rs-tunnel/1";

/// The longest line either side accepts (a node name is at most 253 bytes).
pub const MAX_LINE: u64 = 1024;

/// The first line of a connection from a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hello {
    Control { node: String },
    Data { node: String, id: u64 },
}

/// What the server sends on a control connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToNode {
    Open { id: u64, address: SocketAddr },
    Ping,
}

/// What a node sends on its control connection after the hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToServer {
    Pong,
    Fail { id: u64, reason: String },
}

fn invalid(line: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("not a tunnel message: {line:?}"),
    )
}

impl Hello {
    pub fn encode(&self) -> String {
        match self {
            Hello::Control { node } => format!("{VERSION} control {node}\n"),
            Hello::Data { node, id } => format!("{VERSION} data {node} {id}\n"),
        }
    }

    pub fn decode(line: &str) -> io::Result<Self> {
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            [VERSION, "control", node] if !node.is_empty() => Ok(Hello::Control {
                node: (*node).to_owned(),
            }),
            [VERSION, "data", node, id] if !node.is_empty() => Ok(Hello::Data {
                node: (*node).to_owned(),
                id: id.parse().map_err(|_| invalid(line))?,
            }),
            _ => Err(invalid(line)),
        }
    }

    pub fn node(&self) -> &str {
        match self {
            Hello::Control { node } | Hello::Data { node, .. } => node,
        }
    }
}

impl ToNode {
    pub fn encode(&self) -> String {
        match self {
            ToNode::Open { id, address } => format!("open {id} {address}\n"),
            ToNode::Ping => "ping\n".to_owned(),
        }
    }

    pub fn decode(line: &str) -> io::Result<Self> {
        match line.split(' ').collect::<Vec<_>>().as_slice() {
            ["ping"] => Ok(ToNode::Ping),
            ["open", id, address] => Ok(ToNode::Open {
                id: id.parse().map_err(|_| invalid(line))?,
                address: address.parse().map_err(|_| invalid(line))?,
            }),
            _ => Err(invalid(line)),
        }
    }
}

impl ToServer {
    pub fn encode(&self) -> String {
        match self {
            ToServer::Pong => "pong\n".to_owned(),
            // One line: a reason never spans more.
            ToServer::Fail { id, reason } => format!("fail {id} {}\n", reason.replace('\n', " ")),
        }
    }

    pub fn decode(line: &str) -> io::Result<Self> {
        if line == "pong" {
            return Ok(ToServer::Pong);
        }
        let rest = line.strip_prefix("fail ").ok_or_else(|| invalid(line))?;
        let (id, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        Ok(ToServer::Fail {
            id: id.parse().map_err(|_| invalid(line))?,
            reason: reason.to_owned(),
        })
    }
}

/// The answer to a control hello: `Ok` or the server's reason for refusing.
pub fn encode_answer(answer: &Result<(), String>) -> String {
    match answer {
        Ok(()) => "ok\n".to_owned(),
        Err(reason) => format!("refused {}\n", reason.replace('\n', " ")),
    }
}

pub fn decode_answer(line: &str) -> Result<(), String> {
    match line {
        "ok" => Ok(()),
        _ => Err(line.strip_prefix("refused ").unwrap_or(line).to_owned()),
    }
}

/// The next line of `reader` without its newline; `None` at the end of the stream. A line longer
/// than [`MAX_LINE`] is an error. Reads no further than the newline, so what follows a hello is
/// left for whoever reads the stream next.
pub async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R) -> io::Result<Option<String>> {
    let mut bytes = Vec::new();
    (&mut *reader)
        .take(MAX_LINE)
        .read_until(b'\n', &mut bytes)
        .await?;
    if bytes.is_empty() {
        return Ok(None);
    }
    if bytes.pop() != Some(b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a tunnel line too long or cut short",
        ));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "a tunnel line is not UTF-8"))
}

/// Writes one line, giving up on a peer that stopped reading.
pub async fn send<W: AsyncWrite + Unpin>(writer: &mut W, line: &str) -> io::Result<()> {
    let written = async {
        writer.write_all(line.as_bytes()).await?;
        writer.flush().await
    };
    tokio::time::timeout(DEAD_AFTER, written)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the peer stopped reading"))?
}

/// The lines of a connection's read half, read by a task of their own (so that waiting for one
/// can be raced against other work without losing half a line); the task ends when this is
/// dropped.
pub struct Lines {
    received: mpsc::Receiver<String>,
    task: JoinHandle<()>,
}

impl Lines {
    pub fn spawn<R: AsyncRead + Send + Unpin + 'static>(reader: R) -> Self {
        let (lines, received) = mpsc::channel(16);
        let task = tokio::spawn(async move {
            let mut reader = BufReader::new(reader);
            while let Ok(Some(line)) = read_line(&mut reader).await {
                if lines.send(line).await.is_err() {
                    break;
                }
            }
        });
        Self { received, task }
    }

    /// The next line; `None` once the connection ended or failed.
    pub async fn recv(&mut self) -> Option<String> {
        self.received.recv().await
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        for hello in [
            Hello::Control {
                node: "node-a".into(),
            },
            Hello::Data {
                node: "node-a".into(),
                id: 42,
            },
        ] {
            let line = hello.encode();
            assert_eq!(Hello::decode(line.trim_end()).unwrap(), hello);
        }
        for message in [
            ToNode::Ping,
            ToNode::Open {
                id: 7,
                address: "10.0.0.2:10250".parse().unwrap(),
            },
            ToNode::Open {
                id: 8,
                address: "[fd00::2]:10250".parse().unwrap(),
            },
        ] {
            let line = message.encode();
            assert_eq!(ToNode::decode(line.trim_end()).unwrap(), message);
        }
        let fail = ToServer::Fail {
            id: 9,
            reason: "connection refused\n(os error 111)".into(),
        };
        assert_eq!(
            ToServer::decode(fail.encode().trim_end()).unwrap(),
            ToServer::Fail {
                id: 9,
                reason: "connection refused (os error 111)".into()
            }
        );
        assert_eq!(ToServer::decode("pong").unwrap(), ToServer::Pong);
        assert_eq!(decode_answer(encode_answer(&Ok(())).trim_end()), Ok(()));
        assert_eq!(
            decode_answer(encode_answer(&Err("not yours".into())).trim_end()),
            Err("not yours".into())
        );
    }

    #[test]
    fn strangers_are_refused() {
        for line in [
            "",
            "GET / HTTP/1.1",
            "k0rs-tunnel/2 control a",
            "k0rs-tunnel/1 control",
            "k0rs-tunnel/1 data a x",
        ] {
            assert!(Hello::decode(line).is_err(), "{line:?}");
        }
        assert!(ToNode::decode("open x 1.2.3.4:5").is_err());
        assert!(ToNode::decode("open 1 nowhere").is_err());
        assert!(ToServer::decode("fail x").is_err());
    }

    #[tokio::test]
    async fn lines_stop_at_the_newline_and_at_the_limit() {
        let mut input: &[u8] = b"first\nrest";
        let mut reader = BufReader::new(&mut input);
        assert_eq!(read_line(&mut reader).await.unwrap().unwrap(), "first");
        let mut rest = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut reader, &mut rest)
            .await
            .unwrap();
        assert_eq!(rest, "rest");

        let long = vec![b'a'; 2000];
        let mut reader = BufReader::new(long.as_slice());
        assert!(read_line(&mut reader).await.is_err());
        let mut reader = BufReader::new(&b""[..]);
        assert_eq!(read_line(&mut reader).await.unwrap(), None);
    }
}
