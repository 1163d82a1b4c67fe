//! `k0rs status [-o json|yaml]` and `k0rs status components`: asks the running node over its status
//! socket (`components/status.rs` answers) and prints what k0s prints. When nothing answers there,
//! it fails as k0s does: exit status 1 and k0s's message (`status: can't get "status" via
//! "<socket>": Get "http://localhost/status": dial unix <socket>: connect: <reason>`).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args as ClapArgs, Subcommand};
use http_body_util::BodyExt as _;
use serde::de::DeserializeOwned;

use crate::node_status::{COMPONENTS_PATH, ComponentsReport, NodeStatus, STATUS_PATH};
use crate::paths::{HostPaths, StatusSocket};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<StatusCommand>,
    /// Output format: json or yaml
    #[arg(short, long, value_parser = ["json", "yaml"])]
    pub out: Option<String>,
    #[command(flatten)]
    pub status_socket: StatusSocket,
}

#[derive(Debug, Subcommand)]
pub enum StatusCommand {
    /// Each component of the running node and its state, as YAML
    Components {
        /// How many of each component's latest state changes to show
        #[arg(long, default_value_t = 1)]
        max_count: usize,
    },
}

/// A request that takes longer than this means the node is stuck; better said than waited for.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn run(args: &Args, paths: &HostPaths) -> anyhow::Result<()> {
    let socket = args.status_socket.resolve(paths);
    match &args.command {
        None => {
            let status: NodeStatus = get(&socket, &STATUS_PATH[1..]).await?;
            print!("{}", render(&status, args.out.as_deref())?);
        }
        Some(StatusCommand::Components { max_count }) => {
            let what = format!("{}?maxCount={max_count}", &COMPONENTS_PATH[1..]);
            let report: ComponentsReport = get(&socket, &what).await?;
            print!(
                "{}",
                serde_yaml_ng::to_string(&report).context("cannot print the components")?
            );
        }
    }
    Ok(())
}

/// The status as k0s prints it: its text lines, or the whole of it as JSON (indented by three
/// spaces, as k0s indents it) or YAML.
fn render(status: &NodeStatus, out: Option<&str>) -> anyhow::Result<String> {
    Ok(match out {
        Some("json") => {
            let mut bytes = Vec::new();
            let formatter = serde_json::ser::PrettyFormatter::with_indent(b"   ");
            let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, formatter);
            serde::Serialize::serialize(status, &mut serializer).context("cannot print JSON")?;
            format!("{}\n", String::from_utf8_lossy(&bytes))
        }
        Some("yaml") => serde_yaml_ng::to_string(status).context("cannot print YAML")?,
        _ => {
            let mut text = format!(
                "Version: {}\nProcess ID: {}\nRole: {}\nWorkloads: {}\nSingleNode: {}\n\
                 Kube-api probing successful: {}\nKube-api probing last error:  {}\n",
                status.version,
                status.pid,
                status.role,
                status.workloads,
                status.single_node,
                status.api_probe.success,
                status.api_probe.message
            );
            if !status.sys_init.is_empty() {
                let _ = writeln!(text, "Init System: {}", status.sys_init);
            }
            if !status.stub_file.is_empty() {
                let _ = writeln!(text, "Service file: {}", status.stub_file);
            }
            text
        }
    })
}

/// `GET http://localhost/<what>` over the socket, decoded; errors in k0s's words.
async fn get<T: DeserializeOwned>(socket: &Path, what: &str) -> anyhow::Result<T> {
    let fail = |detail: String| {
        anyhow::anyhow!(
            "status: can't get {what:?} via {:?}: {detail}",
            socket.display().to_string()
        )
    };
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|error| {
            fail(format!(
                "Get \"http://localhost/{what}\": dial unix {}: connect: {}",
                socket.display(),
                os_reason(&error)
            ))
        })?;
    let exchange = async {
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let request = hyper::Request::get(format!("/{what}"))
            .header(hyper::header::HOST, "localhost")
            .body(http_body_util::Empty::<hyper::body::Bytes>::new())
            .expect("a GET request with a fixed path is valid");
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok::<_, hyper::Error>((status, body))
    };
    let (status, body) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| fail(format!("no answer within {REQUEST_TIMEOUT:?}")))?
        .map_err(|error| fail(format!("Get \"http://localhost/{what}\": {error}")))?;
    if status != hyper::StatusCode::OK {
        return Err(fail(format!("status code {}", status.as_u16())));
    }
    serde_json::from_slice(&body).map_err(|error| fail(format!("can't decode JSON: {error}")))
}

/// The reason of a failed connect as Go (and so k0s) words it: the C library's text, lower case.
fn os_reason(error: &std::io::Error) -> String {
    let Some(code) = error.raw_os_error() else {
        return error.to_string();
    };
    let text = nix::errno::Errno::from_raw(code).desc();
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_lowercase().chain(chars).collect()
    })
}
