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

/// The full name containerd and the CRI give a reference, as Docker normalises it:
/// `busybox` is `docker.io/library/busybox:latest`, `team/app:v1` is `docker.io/team/app:v1`, a
/// reference without tag or digest gets `:latest`. Refuses what cannot be a reference.
pub fn normalize(reference: &str) -> Result<String> {
    let bad = |reason| ImageError::Reference {
        reference: reference.to_owned(),
        reason,
    };
    if reference.is_empty() {
        return Err(bad("empty"));
    }
    if reference
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(bad("contains whitespace"));
    }
    let (name, digest) = match reference.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (reference, None),
    };
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first, rest.to_owned())
        }
        _ => ("docker.io", name.to_owned()),
    };
    let domain = if domain == "index.docker.io" {
        "docker.io"
    } else {
        domain
    };
    let path = if domain == "docker.io" && !path.contains('/') {
        format!("library/{path}")
    } else {
        path
    };
    let last = path.rsplit('/').next().unwrap_or_default();
    let (repository, tag) = match last.split_once(':') {
        Some((repository, tag)) => (repository, Some(tag)),
        None => (last, None),
    };
    let valid = |c: &str| {
        !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
    };
    let path_ok = path
        .rsplit_once('/')
        .is_none_or(|(head, _)| head.split('/').all(valid))
        && valid(repository);
    if !path_ok {
        return Err(bad(
            "not an image name: repositories are lowercase letters, digits, '.', '_' and '-', separated by '/'",
        ));
    }
    let tag_ok = tag.is_none_or(|t| {
        !t.is_empty()
            && t.len() <= 128
            && !t.starts_with(['.', '-'])
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    });
    if !tag_ok {
        return Err(bad("not a valid tag"));
    }
    let digest_ok = digest.is_none_or(|d| {
        d.split_once(':').is_some_and(|(algorithm, hex)| {
            !algorithm.is_empty() && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
        })
    });
    if !digest_ok {
        return Err(bad("not a valid digest: expected <algorithm>:<hex>"));
    }
    let mut full = format!("{domain}/{path}");
    if let Some(digest) = digest {
        full.push('@');
        full.push_str(digest);
    } else if tag.is_none() {
        full.push_str(":latest");
    }
    Ok(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_normalise_as_docker_does() {
        for (short, full) in [
            ("busybox", "docker.io/library/busybox:latest"),
            ("busybox:1.36", "docker.io/library/busybox:1.36"),
            ("team/app:v1", "docker.io/team/app:v1"),
            (
                "index.docker.io/library/nginx",
                "docker.io/library/nginx:latest",
            ),
            ("registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9"),
            ("localhost:5000/app", "localhost:5000/app:latest"),
            ("localhost/app:v2", "localhost/app:v2"),
            (
                "quay.io/k0sproject/envoy-distroless:v1.29.4",
                "quay.io/k0sproject/envoy-distroless:v1.29.4",
            ),
            (
                "nginx@sha256:0123456789abcdef0123456789abcdef",
                "docker.io/library/nginx@sha256:0123456789abcdef0123456789abcdef",
            ),
        ] {
            assert_eq!(normalize(short).unwrap(), full, "{short}");
        }
        for bad in [
            "",
            "Busybox",
            "busy box",
            "app:",
            "app:-x",
            "a//b",
            "app@sha256:xyz",
        ] {
            assert!(normalize(bad).is_err(), "{bad:?} accepted");
        }
    }

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
