# Debian userlands for scripts/matrix: one debootstrap chroot per release, each with that
# release's own containerd, runc, CNI plugins, iptables, ipset, nftables and etcd. Source it after
# host.sh; do not run it.

# The releases the matrix covers: Debian 11, 12 and 13.
MATRIX_SUITES=(bullseye bookworm trixie)
# What a k0rs node takes from its userland (host.sh's NODE_PACKAGES, etcd for the managed store,
# and what containerd's and the CNI plugins' helpers call).
USERLAND_PACKAGES=(containerd runc containernetworking-plugins iptables ipset nftables iproute2
    busybox-static etcd-server kmod procps mount)
USERLAND_CACHE="${K0RS_USERLAND_CACHE:-/var/cache/k0rs/userland}"
DEBIAN_MIRROR="${K0RS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# suite_number SUITE: Debian's release number of SUITE.
suite_number() {
    case "$1" in
        bullseye) echo 11 ;; bookworm) echo 12 ;; trixie) echo 13 ;;
        *) die "unknown Debian suite: $1" ;;
    esac
}

# ensure_userland SUITE: the chroot of SUITE under $USERLAND_CACHE/SUITE, made once (a complete
# one has a .done stamp naming its packages; a broken attempt is started over). Prints its path.
ensure_userland() {
    local suite="$1" root="$USERLAND_CACHE/$1"
    local want="${USERLAND_PACKAGES[*]}"
    if [ -f "$root/.done" ] && [ "$(cat "$root/.done")" = "$want" ]; then
        echo "$root"; return 0
    fi
    command -v debootstrap >/dev/null || ensure_packages debootstrap
    as_root rm -rf "$root"
    as_root mkdir -p "$USERLAND_CACHE"
    log "debootstrap Debian $(suite_number "$suite") ($suite) into $root"
    local include
    include=$(IFS=,; echo "${USERLAND_PACKAGES[*]}")
    as_root debootstrap --variant=minbase --include="$include" "$suite" "$root" "$DEBIAN_MIRROR" \
        > "$USERLAND_CACHE/$suite.debootstrap.log" 2>&1 \
        || { tail -20 "$USERLAND_CACHE/$suite.debootstrap.log" >&2; die "debootstrap $suite failed"; }
    echo "$want" | as_root tee "$root/.done" >/dev/null
    echo "$root"
}

# A node's view of a userland: a mount namespace of its own in which ROOT's /usr, /etc and
# /var/lib/dpkg (what its packages say of their versions) are mounted over the host's (every release here has merged /usr, so /bin, /sbin and /lib follow),
# while /proc, /sys, /dev, /run, /tmp and /var stay the host's: k0rs and what it runs see that
# release's binaries and libraries and the same paths for data, run and socket directories as the
# script. (A chroot is no substitute: runc's pivot_root inside a chroot gave containers the host's
# root file system.) The namespace is kept by a bind mount of its file, NSDIR/NAME, so each command
# enters it with nsenter --mount, and mounts made in it (containerd's, the kubelet's) stay in it.
USERLAND_NSDIR=/run/k0rs-matrix

# userland_namespace ROOT NAME: makes the namespace; prints its file.
userland_namespace() {
    local root="$1" file="$USERLAND_NSDIR/$2"
    as_root mkdir -p "$USERLAND_NSDIR"
    if ! mountpoint -q "$USERLAND_NSDIR"; then
        # unshare --mount=FILE needs FILE on a private mount.
        as_root mount --bind "$USERLAND_NSDIR" "$USERLAND_NSDIR"
        as_root mount --make-private "$USERLAND_NSDIR"
    fi
    as_root touch "$file"
    as_root unshare --mount="$file" --propagation slave \
        sh -c "mount --bind '$root/usr' /usr && mount --bind '$root/etc' /etc && mount --bind '$root/var/lib/dpkg' /var/lib/dpkg" \
        || die "cannot make the mount namespace of $root"
    echo "$file"
}

# userland_namespace_drop FILE: releases a namespace (its mounts go with its last process).
userland_namespace_drop() {
    as_root umount -l "$1" 2>/dev/null
    as_root rm -f "$1"
    return 0
}

