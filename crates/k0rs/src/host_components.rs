//! The host components k0rs drives but does not contain (containerd, runc, the CNI plugins,
//! iptables, ipset, nft, etcd), found where k0rs itself finds them, with the version each
//! reports of itself. `k0rs version --all` prints them; the release's SBOM records the ones a
//! build was tested with.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One host component as found on this host.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Found {
    pub name: &'static str,
    /// `None` when it is not installed.
    pub path: Option<PathBuf>,
    /// The version it reports (`None` when it is missing or says nothing we can read).
    pub version: Option<String>,
    /// What else matters about it (the iptables back end k0rs chose).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The components, in the order a node needs them.
pub fn find_all() -> Vec<Found> {
    let mut found: Vec<Found> = ["containerd", "runc"]
        .into_iter()
        .map(|name| on_path(name, name))
        .collect();
    // The CNI plugins are one package; the bridge plugin speaks for it (the one k0rs uses).
    found.push(at(
        "cni-plugins",
        Path::new("/usr/lib/cni/bridge"),
        &["--version"],
    ));
    found.push(iptables());
    found.extend(
        [("ipset", "ipset"), ("nft", "nft"), ("etcd", "etcd")]
            .into_iter()
            .map(|(name, binary)| on_path(name, binary)),
    );
    found
}

fn on_path(name: &'static str, binary: &str) -> Found {
    match crate::components::containerd::find_binary(binary) {
        Ok(path) => at(name, &path, &["--version"]),
        Err(_) => missing(name),
    }
}

/// iptables as every component will use it: the back end k0rs detects, and that back end's
/// binary's version.
fn iptables() -> Found {
    match k0rs_netfilter::Toolchain::detect() {
        Ok(toolchain) => {
            let mut found = at("iptables", &toolchain.iptables(), &["--version"]);
            found.detail = Some(format!("{} back end", toolchain.backend));
            found
        }
        Err(error) => Found {
            detail: Some(format!("{error:#}")),
            ..missing("iptables")
        },
    }
}

fn missing(name: &'static str) -> Found {
    Found {
        name,
        path: None,
        version: None,
        detail: None,
    }
}

fn at(name: &'static str, path: &Path, args: &[&str]) -> Found {
    if !path.is_file() {
        return missing(name);
    }
    let output = Command::new(path).args(args).output();
    // The first line says it; some tools print it on stderr (older ipset, the CNI plugins).
    let version = output.ok().and_then(|out| {
        let first = |bytes: &[u8]| {
            String::from_utf8_lossy(bytes)
                .lines()
                .find(|l| !l.trim().is_empty())
                .map(str::to_owned)
        };
        first(&out.stdout)
            .or_else(|| first(&out.stderr))
            .and_then(|line| version_in(&line))
    });
    if let Some(version) = version {
        return Found {
            name,
            path: Some(path.to_owned()),
            version: Some(version),
            detail: None,
        };
    }
    // Debian builds the CNI plugins without their version ("version unknown"): the package that
    // installed the file knows it.
    let package = debian_package_of(path);
    Found {
        name,
        path: Some(path.to_owned()),
        version: package.as_ref().map(|(_, version)| version.clone()),
        detail: package.map(|(package, _)| format!("Debian package {package}")),
    }
}

/// The Debian package owning `path`, and its version (none off Debian, or for a file no
/// package installed).
fn debian_package_of(path: &Path) -> Option<(String, String)> {
    let query = |args: &[&std::ffi::OsStr]| {
        let out = Command::new("dpkg-query").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let owner = query(&["-S".as_ref(), path.as_os_str()])?;
    let package = owner.split(':').next()?.trim().to_owned();
    let version = query(&["-W".as_ref(), "-f=${Version}".as_ref(), package.as_ref()])?;
    (!version.is_empty()).then_some((package, version))
}

/// The first version number in a tool's `--version` text: a word of digits and dots (a leading
/// `v` and a trailing comma dropped), with what the packager appended (`1.6.20~ds1`) kept.
pub fn version_in(text: &str) -> Option<String> {
    text.split_whitespace().find_map(|word| {
        let word = word.trim_end_matches([',', ';', ')']);
        let number = word.strip_prefix('v').unwrap_or(word);
        let mut parts = number.split(|c: char| !c.is_ascii_digit() && c != '.');
        let head = parts.next()?;
        let dotted = head.split('.').count() >= 2 && head.split('.').all(|p| !p.is_empty());
        dotted.then(|| number.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::version_in;

    #[test]
    fn reads_each_tools_version_line() {
        let cases = [
            (
                "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+b1",
                "1.6.20~ds1",
            ),
            (
                "runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1",
                "1.1.5+ds1",
            ),
            (
                "CNI bridge plugin v1.1.1\nCNI protocol versions supported: 0.1.0",
                "1.1.1",
            ),
            ("iptables v1.8.9 (nf_tables)", "1.8.9"),
            ("ipset v7.17, protocol version: 7", "7.17"),
            ("nftables v1.0.6 (Lester Gooch #5)", "1.0.6"),
            ("etcd Version: 3.4.23\nGit SHA: Not provided", "3.4.23"),
        ];
        for (text, want) in cases {
            assert_eq!(version_in(text).as_deref(), Some(want), "{text}");
        }
        assert_eq!(version_in("CNI bridge plugin version unknown"), None);
        assert_eq!(version_in("usage: tool [options]"), None);
        assert_eq!(version_in("protocol 7"), None);
    }
}
