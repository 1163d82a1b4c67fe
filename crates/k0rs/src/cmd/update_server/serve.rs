//! `k0rs update-server --dir DIR [--listen ADDR] [--tls-cert F --tls-key F]`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args as ClapArgs;

#[derive(Debug, ClapArgs)]
pub struct ServeArgs {
    /// The directory of channels (DIR/<channel>/index.yaml)
    #[arg(long, required = true)]
    pub dir: Option<PathBuf>,
    /// Address to listen on
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// Serve HTTPS with this certificate (PEM, chain first)
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM)
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let dir = super::required_dir(args.dir)?;
    anyhow::ensure!(dir.is_dir(), "{} is not a directory", dir.display());
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(k0rs_autopilot::server::tls_acceptor(cert, key)?),
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr().context("no local address")?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(component = "update-server", %address, dir = %dir.display(), scheme, "serving update channels");
    let server = k0rs_autopilot::server::serve(listener, k0rs_autopilot::server::router(dir), tls);
    tokio::select! {
        () = server => Ok(()),
        () = crate::signals::shutdown_signal() => {
            tracing::info!(component = "update-server", "stopping");
            Ok(())
        }
    }
}
