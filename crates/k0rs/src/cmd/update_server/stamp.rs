//! `k0rs update-server stamp --version V IN OUT`: the release step that makes a copy of a k0rs
//! binary report another version (see `k0rs_version`), so one build yields several versions.

use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args as ClapArgs;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The version the copy reports (semver, `v` optional: v1.28.15+k0rs.1)
    #[arg(long)]
    pub version: String,
    /// The k0rs binary to copy
    pub input: PathBuf,
    /// Where to write the stamped copy
    pub output: PathBuf,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let mut binary = std::fs::read(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    k0rs_version::stamp(&mut binary, &args.version)
        .with_context(|| format!("cannot stamp {}", args.input.display()))?;
    let mut temporary = args.output.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, &binary)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", temporary.display()))?;
    std::fs::rename(&temporary, &args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    println!(
        "{} reports v{}",
        args.output.display(),
        k0rs_version::read_stamp(&binary)?
    );
    Ok(())
}
