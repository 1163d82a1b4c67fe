//! `k0rs update-server publish --dir DIR --channel C --binary PATH [--version V]
//! [--signing-key F] [--url BASE] …`.

use std::path::PathBuf;

use clap::Args as ClapArgs;
use k0rs_autopilot::server::Publish;
use k0rs_autopilot::signature::SigningKey;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The directory of channels
    #[arg(long)]
    pub dir: PathBuf,
    /// The channel to publish to
    #[arg(long)]
    pub channel: String,
    /// The k0rs binary to publish
    #[arg(long)]
    pub binary: PathBuf,
    /// The version offered (default: the one the binary reports; it must report this one)
    #[arg(long)]
    pub version: Option<String>,
    /// Sign the artifacts with this minisign secret key
    #[arg(long)]
    pub signing_key: Option<PathBuf>,
    /// The password of an encrypted --signing-key
    #[arg(long, env = "K0RS_SIGNING_KEY_PASSWORD", hide_env_values = true)]
    pub signing_key_password: Option<String>,
    /// The URL the server is reached at: the index gets absolute URLs (k0s needs them).
    /// Without it they are relative to index.yaml, which only k0rs resolves
    #[arg(long)]
    pub url: Option<String>,
    /// An airgap image bundle for the same version and platform
    #[arg(long)]
    pub airgap_bundle: Option<PathBuf>,
    #[arg(long, default_value = "linux")]
    pub os: String,
    /// The binary's architecture, in Go's names (amd64, arm64, arm)
    #[arg(long, default_value = default_arch())]
    pub arch: String,
    /// The end-of-life date of the channel's release line (index.yaml's eolDate)
    #[arg(long, default_value = "")]
    pub eol_date: String,
}

/// This host's architecture as Go (and so k0s) names it.
fn default_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let key = args
        .signing_key
        .as_deref()
        .map(|path| SigningKey::load(path, args.signing_key_password.as_deref()))
        .transpose()?;
    let published = Publish {
        dir: &args.dir,
        channel: &args.channel,
        version: args.version.as_deref(),
        binary: &args.binary,
        os: &args.os,
        arch: &args.arch,
        airgap_bundle: args.airgap_bundle.as_deref(),
        signing_key: key.as_ref(),
        base_url: args.url.as_deref(),
        eol_date: &args.eol_date,
    }
    .run()?;
    println!(
        "published {} ({}) to {}",
        published.version,
        published.entry.platform(),
        published.index.display()
    );
    Ok(())
}
