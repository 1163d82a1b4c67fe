//! etcd's command line and environment for one member.
//!
//! The command line is the same on every start of the member — it is how the supervisor knows
//! the etcd a killed k0rs left running as this member's (and adopts it). What only the first
//! start needs, the initial cluster, goes into etcd's environment (`ETCD_INITIAL_CLUSTER*`): etcd
//! reads it only while its data directory is empty, and ignores it once it has data.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use k0rs_component::supervisor::{ChildSpec, Output};

use crate::Layout;
use crate::release::Release;

/// etcd needs a moment to hand leadership over and sync its files on SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(20);

/// How a member starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// It has data: it restarts as the member it is.
    Restart,
    /// The first controller: a new cluster of this member alone.
    NewCluster,
    /// A joining controller, already added to the cluster: the cluster's members, each
    /// `<name>=<peer URL>`, this one included.
    Join { initial_cluster: Vec<String> },
}

/// The supervised child for `layout`'s member. `extra_args` (`spec.storage.etcd.extraArgs`, flag
/// names without dashes) replace or add flags, as in k0s.
pub fn child_spec(
    binary: PathBuf,
    release: Release,
    layout: &Layout,
    bootstrap: &Bootstrap,
    extra_args: &BTreeMap<String, String>,
) -> ChildSpec {
    let mut flags = flags(layout, release);
    flags.extend(extra_args.iter().map(|(k, v)| (k.clone(), v.clone())));
    let args = flags
        .into_iter()
        .map(|(name, value)| OsString::from(format!("--{name}={value}")))
        .collect();
    ChildSpec {
        name: "etcd",
        binary,
        args,
        env: environment(layout, bootstrap),
        pid_file: layout.pid_file(),
        stop_grace: STOP_GRACE,
        output: Output::File(layout.log_file()),
        adopt: true,
    }
}

fn flags(layout: &Layout, release: Release) -> BTreeMap<String, String> {
    let pki = |file: &str| layout.pki(file).display().to_string();
    let peer_url = layout.peer_url();
    [
        ("name", layout.name.clone()),
        ("data-dir", layout.data_dir.display().to_string()),
        // Loopback for the local API server; the peer address for the other controllers (their
        // health checks, and a restarted member asking whether the cluster still lists it).
        (
            "listen-client-urls",
            format!("{},{}", layout.local_client_url(), layout.client_url()),
        ),
        ("advertise-client-urls", layout.client_url()),
        ("listen-peer-urls", peer_url.clone()),
        ("initial-advertise-peer-urls", peer_url),
        ("cert-file", pki("etcd/server.crt")),
        ("key-file", pki("etcd/server.key")),
        ("trusted-ca-file", pki("etcd/ca.crt")),
        ("client-cert-auth", "true".into()),
        ("peer-cert-file", pki("etcd/peer.crt")),
        ("peer-key-file", pki("etcd/peer.key")),
        ("peer-trusted-ca-file", pki("etcd/ca.crt")),
        ("peer-client-cert-auth", "true".into()),
    ]
    .into_iter()
    // etcd 3.3 logs with capnslog to stderr, and knows no logger flags.
    .chain(
        [
            ("logger", "zap".to_owned()),
            ("log-outputs", "stderr".to_owned()),
        ]
        .into_iter()
        .filter(|_| release.has_zap_logger()),
    )
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn environment(layout: &Layout, bootstrap: &Bootstrap) -> Vec<(OsString, OsString)> {
    let (cluster, state) = match bootstrap {
        Bootstrap::Restart => return Vec::new(),
        Bootstrap::NewCluster => (format!("{}={}", layout.name, layout.peer_url()), "new"),
        Bootstrap::Join { initial_cluster } => (initial_cluster.join(","), "existing"),
    };
    vec![
        ("ETCD_INITIAL_CLUSTER".into(), cluster.into()),
        ("ETCD_INITIAL_CLUSTER_STATE".into(), state.into()),
    ]
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn layout() -> Layout {
        Layout::new(
            Path::new("/var/lib/k0rs"),
            Path::new("/run/k0rs"),
            "10.0.0.2".parse().unwrap(),
            "c1".into(),
        )
    }

    const V3_4: Release = Release { major: 3, minor: 4 };

    fn args(spec: &ChildSpec) -> Vec<String> {
        spec.args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn etcd_3_3_gets_no_logger_flags() {
        let none = BTreeMap::new();
        let old = Release { major: 3, minor: 3 };
        let spec = child_spec("/e".into(), old, &layout(), &Bootstrap::NewCluster, &none);
        assert!(
            !args(&spec).iter().any(|a| a.starts_with("--log")),
            "{:?}",
            args(&spec)
        );
        let spec = child_spec("/e".into(), V3_4, &layout(), &Bootstrap::NewCluster, &none);
        assert!(args(&spec).contains(&"--logger=zap".to_owned()));
        assert!(args(&spec).contains(&"--log-outputs=stderr".to_owned()));
    }

    #[test]
    fn the_command_line_is_the_same_however_the_member_starts() {
        let binary = PathBuf::from("/usr/bin/etcd");
        let none = BTreeMap::new();
        let restart = child_spec(binary.clone(), V3_4, &layout(), &Bootstrap::Restart, &none);
        let join = child_spec(
            binary,
            V3_4,
            &layout(),
            &Bootstrap::Join {
                initial_cluster: vec!["c0=https://10.0.0.1:2380".into()],
            },
            &none,
        );
        assert_eq!(restart.identity(), join.identity());
        assert!(restart.env.is_empty());
        assert_eq!(
            join.env,
            vec![
                (
                    "ETCD_INITIAL_CLUSTER".into(),
                    "c0=https://10.0.0.1:2380".into()
                ),
                ("ETCD_INITIAL_CLUSTER_STATE".into(), "existing".into())
            ]
        );
        assert!(restart.adopt);
    }

    #[test]
    fn extra_args_replace_and_add_flags() {
        let extra = BTreeMap::from([
            ("logger".to_owned(), "capnslog".to_owned()),
            ("quota-backend-bytes".to_owned(), "1000".to_owned()),
        ]);
        let spec = child_spec("/e".into(), V3_4, &layout(), &Bootstrap::NewCluster, &extra);
        let args: Vec<String> = spec
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(args.contains(&"--logger=capnslog".to_owned()));
        assert!(!args.contains(&"--logger=zap".to_owned()));
        assert!(args.contains(&"--quota-backend-bytes=1000".to_owned()));
        assert!(args.contains(&"--peer-client-cert-auth=true".to_owned()));
        assert!(args.contains(&"--data-dir=/var/lib/k0rs/etcd".to_owned()));
    }
}
