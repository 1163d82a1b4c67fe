//! Image references as containerd stores them: fully qualified, with a tag.
//!
//! `ctr images import` keeps the names of an OCI layout untouched, and the CRI looks images up by
//! their normalised name (`docker.io/library/busybox:latest`, never `busybox`). A short name would
//! import fine and then never be found by a pod, so only full names are accepted.

use crate::error::{ImageError, Result};

/// The tag of a fully qualified reference (`latest` of `docker.io/library/busybox:latest`), which
/// the OCI layout also records as `org.opencontainers.image.ref.name`.
pub(crate) fn tag_of(reference: &str) -> Result<&str> {
    let bad = |reason| ImageError::Reference {
        reference: reference.to_owned(),
        reason,
    };
    if reference.contains('@') {
        return Err(bad("digest references are not supported; give a tag"));
    }
    if reference
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(bad("contains whitespace"));
    }
    let Some((domain, _)) = reference.split_once('/') else {
        return Err(bad(
            "not fully qualified: expected <registry>/<repository>:<tag>, e.g. docker.io/library/busybox:latest",
        ));
    };
    if !(domain.contains('.') || domain.contains(':') || domain == "localhost") {
        return Err(bad(
            "not fully qualified: the first component must be a registry such as docker.io",
        ));
    }
    let last = &reference[reference.rfind('/').map_or(0, |slash| slash + 1)..];
    match last.split_once(':') {
        Some((name, tag)) if !name.is_empty() && !tag.is_empty() => Ok(tag),
        _ => Err(bad("no tag: expected <registry>/<repository>:<tag>")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_of_full_references() {
        assert_eq!(
            tag_of("docker.io/library/busybox:latest").unwrap(),
            "latest"
        );
        assert_eq!(tag_of("registry.k8s.io/pause:3.9").unwrap(), "3.9");
        assert_eq!(tag_of("localhost:5000/team/app:v1").unwrap(), "v1");
    }

    #[test]
    fn short_untagged_and_digest_references_are_refused() {
        for reference in [
            "busybox",
            "busybox:latest",
            "library/busybox:latest",
            "docker.io/library/busybox",
            "localhost:5000/app",
            "docker.io/library/busybox:",
            "docker.io/library/busybox@sha256:00",
            "docker.io/library/busy box:1",
        ] {
            assert!(tag_of(reference).is_err(), "{reference} accepted");
        }
    }
}
