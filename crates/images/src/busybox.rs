//! The busybox test image, built from the host's static busybox.
//!
//! End-to-end tests need an image with a shell and the usual tools, and a test machine has no
//! registry to pull one from. A static busybox (Debian's busybox-static installs /bin/busybox) is a
//! whole userland in one file: the image holds it with a symlink per applet, plus the few files
//! a shell and `id` expect.

use std::path::Path;
use std::process::Command;

use crate::elf::ensure_static;
use crate::error::{ImageError, Result};
use crate::layer::Layer;
use crate::oci::{ImageSpec, build};

/// The name tests and pods use for the busybox image.
pub const BUSYBOX_IMAGE: &str = "docker.io/library/busybox:latest";
/// The same image under the busybox version Debian 12 ships, for manifests that pin a tag.
const BUSYBOX_VERSIONED: &str = "docker.io/library/busybox:1.35";

const PASSWD: &str =
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const GROUP: &str = "root:x:0:\nnobody:x:65534:\n";

/// The busybox image as a tarball for `ctr images import`; `busybox` must be a static executable.
pub fn busybox_image(busybox: &Path) -> Result<Vec<u8>> {
    let binary = std::fs::read(busybox).map_err(|source| ImageError::Io {
        path: busybox.to_owned(),
        action: "cannot read the busybox binary",
        source,
    })?;
    ensure_static(busybox, &binary)?;
    let applets = applets(busybox)?;
    build(&busybox_spec(binary, &applets)?)
}

/// The applets `busybox --list` reports, which are the commands the image will have.
fn applets(busybox: &Path) -> Result<Vec<String>> {
    let output = Command::new(busybox)
        .arg("--list")
        .output()
        .map_err(|source| ImageError::Io {
            path: busybox.to_owned(),
            action: "cannot run `--list` to learn the applets",
            source,
        })?;
    if !output.status.success() {
        return Err(ImageError::AppletList {
            path: busybox.to_owned(),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|name| !name.is_empty() && *name != "busybox")
        .map(str::to_owned)
        .collect())
}

fn busybox_spec(binary: Vec<u8>, applets: &[String]) -> Result<ImageSpec> {
    let mut layer = Layer::new();
    layer.file("/bin/busybox", binary, 0o755)?;
    for applet in applets {
        layer.symlink(&format!("/bin/{applet}"), "busybox")?;
    }
    layer.dir("/tmp", 0o1777)?;
    layer.dir("/etc", 0o755)?;
    layer.dir("/root", 0o700)?;
    layer.dir("/var/www", 0o755)?;
    layer.file("/etc/passwd", PASSWD.as_bytes().to_vec(), 0o644)?;
    layer.file("/etc/group", GROUP.as_bytes().to_vec(), 0o644)?;
    let mut spec = ImageSpec::new([BUSYBOX_IMAGE, BUSYBOX_VERSIONED], layer);
    spec.cmd = vec!["sh".to_owned()];
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Entry;

    #[test]
    fn the_layer_has_the_binary_a_link_per_applet_and_the_base_files() {
        let applets = ["sh".to_owned(), "ls".to_owned()];
        let spec = busybox_spec(b"\x7fELF".to_vec(), &applets).unwrap();
        let entries = spec.layer.entries();
        let link = Entry::Symlink {
            target: "busybox".into(),
        };
        assert_eq!(entries["bin/sh"], link);
        assert_eq!(entries["bin/ls"], link);
        assert_eq!(entries["tmp"], Entry::Dir { mode: 0o1777 });
        assert!(matches!(
            entries["bin/busybox"],
            Entry::File { mode: 0o755, .. }
        ));
        assert!(
            matches!(&entries["etc/passwd"], Entry::File { data, .. } if data.starts_with(b"root:x:0:0:"))
        );
        assert_eq!(spec.refs, [BUSYBOX_IMAGE, BUSYBOX_VERSIONED]);
        assert_eq!(spec.cmd, ["sh"]);
    }

    #[test]
    fn a_dynamic_busybox_is_refused_before_it_is_run() {
        let err = busybox_image(Path::new("/bin/ls")).unwrap_err().to_string();
        assert!(err.contains("/bin/ls: dynamically linked"), "{err}");
    }

    #[test]
    fn a_missing_busybox_is_named() {
        let err = busybox_image(Path::new("/nonexistent/busybox"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("/nonexistent/busybox: cannot read"),
            "{err}"
        );
    }
}
