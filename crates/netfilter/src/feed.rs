//! Running a netfilter tool on a batch read from its stdin (`iptables-restore`, `ipset
//! restore`, `nft -f -`): one process per batch, and its stderr in the error when it fails.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::Context as _;

/// Runs `program args` with `input` on stdin; fails with the tool's stderr.
pub fn feed(program: &Path, args: &[&str], input: &str) -> anyhow::Result<()> {
    let shown = format!("{} {}", program.display(), args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {shown}"))?;
    child
        .stdin
        .take()
        .context("no stdin")?
        .write_all(input.as_bytes())
        .with_context(|| format!("cannot write to {shown}"))?;
    let out = child.wait_with_output().with_context(|| shown.clone())?;
    anyhow::ensure!(
        out.status.success(),
        "{shown} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}
