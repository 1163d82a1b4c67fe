# Host preparation shared by scripts/up and scripts/test. Source it; do not run it.
#
# Everything k0rs needs from the host comes from Debian's packages. Each list grows with the
# issue that needs it (containerd, runc, CNI plugins, etcd, iptables, ipset …).

# To build k0rs: a C compiler for ring, protoc for the CRI/etcd client code generation (later).
BUILD_PACKAGES=(gcc libc6-dev protobuf-compiler libprotobuf-dev)
# What a worker runs pods with (k0rs supervises containerd itself; no service is enabled), and
# the one iptables/ipset toolchain its proxy, pod network and the CNI plugins share (nft for
# the proxy's nftables mode).
NODE_PACKAGES=(containerd runc containernetworking-plugins iptables ipset nftables iproute2 busybox-static)
# To run a controller and show it working; etcd for `k0rs bench store`.
RUN_PACKAGES=(openssl ca-certificates etcd-server "${NODE_PACKAGES[@]}")
# Used by the tests as independent judges of k0rs's output; iproute2 and util-linux (nsenter) put
# each test node in a network namespace of its own; a registry on loopback to pull images from,
# and skopeo to push to it; systemd (systemd-analyze verify, and systemd itself as PID 1 of a test's
# namespaces) and openrc (openrc-init, rc-service, supervise-daemon) for the service tests.
TEST_PACKAGES=(openssl hostname etcd-server curl minisign prometheus iproute2 util-linux docker-registry skopeo systemd openrc "${NODE_PACKAGES[@]}")

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root to run: $*"; fi
}

# ensure_packages PKG… installs, from Debian, every package that is not installed yet.
ensure_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# ensure_kubectl: the tests and `k0rs kubectl` use the host's kubectl; Debian's kubernetes-client
# is the fallback when none is installed.
ensure_kubectl() {
    command -v kubectl >/dev/null || ensure_packages kubernetes-client
    command -v kubectl >/dev/null || die "kubectl not found on PATH"
}

# ensure_cargo: Debian 12's rustc is too old for the workspace (Rust 1.95), so the toolchain comes
# from rustup, as on every machine of this project.
ensure_cargo() {
    [ -x "$HOME/.cargo/bin/cargo" ] && PATH="$HOME/.cargo/bin:$PATH"
    command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain with rustup (https://rustup.rs), then rerun"
}

# ensure_python_client: the Python `kubernetes` client from PyPI (one of the real clients the API
# server is judged by), in a virtualenv outside the clone; exports K0RS_TEST_PYTHON.
ensure_python_client() {
    local venv="${K0RS_PYTHON_ENV:-/var/cache/k0rs/python}"
    if ! "$venv/bin/python" -c 'import kubernetes' 2>/dev/null; then
        log "installing the Python kubernetes client into $venv"
        as_root mkdir -p "$(dirname "$venv")"
        if ! python3 -m venv "$venv" 2>/dev/null; then
            ensure_packages python3 python3-venv
            /usr/bin/python3 -m venv "$venv"
        fi
        "$venv/bin/pip" install -q kubernetes
    fi
    export K0RS_TEST_PYTHON="$venv/bin/python"
}
