//! `k0rs update-server keygen --public F --secret F`: a minisign key pair (the secret key not
//! encrypted: keep it in a secret store), the same format as `minisign -G -W`.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args as ClapArgs;
use k0rs_autopilot::signature::SigningKey;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Where to write the public key (minisign.pub)
    #[arg(long)]
    pub public: PathBuf,
    /// Where to write the secret key (mode 0600; never overwritten)
    #[arg(long)]
    pub secret: PathBuf,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let key = SigningKey::generate()?;
    let mut secret = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&args.secret)
        .with_context(|| format!("cannot create {}", args.secret.display()))?;
    secret
        .write_all(key.secret_key_file().as_bytes())
        .with_context(|| format!("cannot write {}", args.secret.display()))?;
    std::fs::write(&args.public, key.public_key_file())
        .with_context(|| format!("cannot write {}", args.public.display()))?;
    println!("key {}: trust it with\n{}", key.key_id(), key.public_key());
    Ok(())
}
