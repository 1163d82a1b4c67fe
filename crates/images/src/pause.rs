//! The pause image: the sandbox image of every pod.
//!
//! Kubelets start each pod's sandbox from `registry.k8s.io/pause:3.9` (k0s's default too), so the
//! image carries exactly that name: imported once at startup, it lets pods run with no registry
//! reachable. Its only file is our own pause program, built for this target by build.rs.

use crate::error::Result;
use crate::layer::Layer;
use crate::oci::{ImageSpec, build};

/// The sandbox image name the kubelet asks for.
pub const PAUSE_IMAGE: &str = "registry.k8s.io/pause:3.9";

/// The static pause executable compiled from `pause/main.rs`.
pub const PAUSE_BINARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pause"));

/// The user the pause process runs as, the one Kubernetes' own pause image uses.
const PAUSE_USER: &str = "65535:65535";

/// The pause image as a tarball for `ctr images import`.
pub fn pause_image() -> Result<Vec<u8>> {
    build(&pause_spec()?)
}

fn pause_spec() -> Result<ImageSpec> {
    let mut layer = Layer::new();
    layer.file("/pause", PAUSE_BINARY.to_vec(), 0o755)?;
    let mut spec = ImageSpec::new([PAUSE_IMAGE], layer);
    spec.entrypoint = vec!["/pause".to_owned()];
    spec.user = Some(PAUSE_USER.to_owned());
    Ok(spec)
}
