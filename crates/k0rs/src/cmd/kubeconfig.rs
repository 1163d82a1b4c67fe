//! `k0rs kubeconfig admin|create`: kubeconfigs signed by the cluster CA.

use clap::Subcommand;
use k0rs_pki::{Authority, Kubeconfig, KubeconfigNames, Subject, files_of};

use crate::paths::{ConfigFile, HostPaths};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the cluster admin's kubeconfig
    Admin {
        #[command(flatten)]
        config: ConfigFile,
    },
    /// Print a kubeconfig for a user, with a client certificate signed by the cluster CA
    Create {
        /// User name (the certificate's common name)
        username: String,
        /// Groups of the user, comma-separated (the certificate's organizations)
        #[arg(long, value_delimiter = ',')]
        groups: Vec<String>,
        #[command(flatten)]
        config: ConfigFile,
    },
}

pub fn run(command: &Command, paths: &HostPaths) -> anyhow::Result<()> {
    match command {
        Command::Admin { config } => {
            let url = config.load_for(paths)?.spec.api.url();
            print!(
                "{}",
                k0rs_pki::admin_kubeconfig(&paths.pki_dir(), &url)?.to_yaml()
            );
        }
        Command::Create {
            username,
            groups,
            config,
        } => {
            anyhow::ensure!(!username.is_empty(), "the user name must not be empty");
            let url = config.load_for(paths)?.spec.api.url();
            let ca = Authority::load(&paths.pki_dir(), files_of::CA)?;
            let groups: Vec<&str> = groups
                .iter()
                .map(String::as_str)
                .filter(|g| !g.is_empty())
                .collect();
            let (cert, key) =
                ca.issue_client(Subject::new(username).with_organizations(&groups))?;
            let names = KubeconfigNames {
                cluster: "k0s",
                context: "k0s",
                user: username,
            };
            print!(
                "{}",
                Kubeconfig::with_client_certificate(names, &url, ca.cert_pem(), &cert, &key)
                    .to_yaml()
            );
        }
    }
    Ok(())
}
