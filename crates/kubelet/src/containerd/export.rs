//! Images out of the node's containerd, for airgap bundles: which images it has, and an image
//! tarball of some of them (`ctr images export`: an OCI image layout that `ctr images import`
//! takes back, holding this platform's content only).

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Context as _;

use super::import::Ctr;

impl Ctr {
    /// The names of every image in the `k8s.io` namespace.
    pub async fn image_names(&self) -> anyhow::Result<BTreeSet<String>> {
        let out = self.run(&["images", "ls", "--quiet"]).await?;
        Ok(out
            .lines()
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// Writes the images `names` into the tarball `out`.
    pub async fn export(&self, out: &Path, names: &[String]) -> anyhow::Result<()> {
        let path = out.to_string_lossy();
        let mut args = vec!["images", "export", path.as_ref()];
        args.extend(names.iter().map(String::as_str));
        self.run(&args)
            .await
            .with_context(|| format!("cannot export {} from containerd", names.join(", ")))?;
        Ok(())
    }
}
