//! The image configuration (application/vnd.oci.image.config.v1+json): what a runtime needs to
//! start a container from the image, and which platform the image is for.

use serde::Serialize;

/// The default search path of a container, the one Docker and containerd images carry.
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// An OS/architecture pair in Go's names, as containerd matches it against its own platform.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct Platform {
    pub(crate) architecture: &'static str,
    pub(crate) os: &'static str,
}

#[derive(Debug, Serialize)]
pub(crate) struct ImageConfig<'a> {
    pub(crate) architecture: &'static str,
    pub(crate) os: &'static str,
    pub(crate) config: ContainerConfig<'a>,
    pub(crate) rootfs: RootFs,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ContainerConfig<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) user: Option<&'a str>,
    pub(crate) env: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub(crate) entrypoint: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub(crate) cmd: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) working_dir: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub(crate) struct RootFs {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) diff_ids: Vec<String>,
}

/// The platform this crate was compiled for: the pause program is built for it, and containerd
/// refuses to unpack an image whose platform is not its own.
pub(crate) fn host_platform() -> Platform {
    Platform {
        architecture: go_arch(std::env::consts::ARCH),
        os: "linux",
    }
}

/// Rust's name of an architecture in Go's (GOARCH) spelling, which OCI platforms use.
fn go_arch(rust_arch: &'static str) -> &'static str {
    match rust_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        // arm, riscv64, s390x, mips64… are spelt alike.
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architectures_use_go_names() {
        assert_eq!(go_arch("x86_64"), "amd64");
        assert_eq!(go_arch("aarch64"), "arm64");
        assert_eq!(go_arch("riscv64"), "riscv64");
        assert_eq!(host_platform().os, "linux");
    }

    #[test]
    fn empty_and_absent_fields_are_left_out() {
        let env = [DEFAULT_PATH.to_owned()];
        let config = ContainerConfig {
            user: None,
            env: &env,
            entrypoint: &[],
            cmd: &["sh".to_owned()],
            working_dir: None,
        };
        assert_eq!(
            serde_json::to_string(&config).unwrap(),
            format!(r#"{{"Env":["{DEFAULT_PATH}"],"Cmd":["sh"]}}"#)
        );
    }
}
