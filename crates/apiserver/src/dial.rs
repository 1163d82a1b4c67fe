//! How the API server opens a connection to an address on a node — a kubelet, or the pod of an
//! aggregated API server: through a [`NodeDialer`] when one has a way to that node (k0rs's tunnel
//! to workers the controllers cannot dial), else straight over TCP.

use std::io;
use std::net::SocketAddr;

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A byte stream to a node, however it was opened.
pub trait NodeStream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> NodeStream for T {}

/// Another way than a direct dial to addresses on some nodes.
#[async_trait]
pub trait NodeDialer: Send + Sync + std::fmt::Debug {
    /// A stream to `address` on `node`, or `None` when this dialer has no way to `node` (the API
    /// server then dials `address` itself).
    async fn dial(
        &self,
        node: &str,
        address: SocketAddr,
    ) -> Option<io::Result<Box<dyn NodeStream>>>;
}

/// A stream to `address` on `node` (when known): through `dialer` if it has a way there, else TCP.
pub(crate) async fn connect(
    dialer: Option<&dyn NodeDialer>,
    node: Option<&str>,
    address: SocketAddr,
) -> io::Result<Box<dyn NodeStream>> {
    if let (Some(dialer), Some(node)) = (dialer, node)
        && let Some(dialed) = dialer.dial(node, address).await
    {
        return dialed;
    }
    let tcp = TcpStream::connect(address).await?;
    Ok(Box::new(tcp))
}
