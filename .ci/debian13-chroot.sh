#!/usr/bin/env bash
# Runs .ci/run in a Debian 13 (trixie: GCC 14, glibc 2.41, Python 3.13) chroot on a Debian 12 machine, for
# the portability that .ci/run cannot check on one system: the JIT resolving compiler-runtime symbols
# against trixie's libgcc, csim's g++ 14 compiling the generated C++, the suite on Python 3.13.
# Not part of the normal CI (.ci/run never calls it); run it by hand, as root, from a clone:
#
#   apt-get install -y debootstrap
#   .ci/debian13-chroot.sh /work/deb13root        # ROOT: where the rootfs lives (about 2 GB, 8 GB with the venv)
#   .ci/debian13-chroot.sh /work/deb13root -- .venv/bin/python -m pytest -q tests/test_x.py   # after a full run
#
# What it does: debootstrap (minbase) when ROOT holds no system yet; the host's DNS and local CA certificates
# (an HTTPS proxy's CA) copied in; the packages the suite needs installed with apt; the host's pip
# configuration copied and every local folder it names (find-links, file:// indexes) bind-mounted read-only;
# then, with a clean environment, either CI=true .ci/run in a fresh clone of the committed HEAD at
# ROOT/root/ci (../shared beside it), or the command after -- in that clone moved to HEAD (its .venv kept).
# Mounts are undone on exit.
set -euo pipefail
ROOT=${1:?usage: $0 ROOT [-- command...]}
shift
if [ "${1:-}" = "--" ]; then shift; fi
[ "$(id -u)" = 0 ] || { echo "$0: needs root (debootstrap, chroot, mount)" >&2; exit 2; }
REPO=$(cd "$(dirname "$0")/.." && pwd)
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PACKAGES=(python3 python3-venv python3-dev g++ make graphviz chromium git ca-certificates fonts-liberation)

if [ ! -f "$ROOT/etc/debian_version" ]; then
    debootstrap --variant=minbase trixie "$ROOT" "$MIRROR"
    printf 'deb %s trixie main\ndeb %s trixie-updates main\ndeb %s-security trixie-security main\n' \
        "$MIRROR" "$MIRROR" "$MIRROR" > "$ROOT/etc/apt/sources.list"
fi
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
mkdir -p "$ROOT/usr/local/share/ca-certificates"
cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/" 2>/dev/null || true

mounted=()
unmount_all() {
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[i]}" || true; done
}
trap unmount_all EXIT
bind() {  # bind [-o ro] HOST_DIR: the same path inside ROOT
    local opts=() dir
    if [ "$1" = "-o" ]; then opts=(-o "$2"); shift 2; fi
    dir=$1
    mkdir -p "$ROOT$dir"
    mountpoint -q "$ROOT$dir" && return 0
    mount --bind "$dir" "$ROOT$dir"
    [ ${#opts[@]} -eq 0 ] || mount -o remount,bind,"${opts[1]}" "$ROOT$dir"
    mounted+=("$ROOT$dir")
}
for dir in /proc /sys /dev /dev/pts /dev/shm; do bind "$dir"; done

in_root() { chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }
in_root bash -c "dpkg -s ${PACKAGES[*]} >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq \
    --no-install-recommends ${PACKAGES[*]}; }; update-ca-certificates >/dev/null"

# the host's pip configuration, and the local wheel folders it points at (an index's .../simple: its parent)
for conf in /etc/pip.conf /etc/xdg/pip /root/.config/pip; do
    if [ -e "$conf" ]; then mkdir -p "$ROOT$(dirname "$conf")"; cp -r "$conf" "$ROOT$(dirname "$conf")/"; fi
done
pip_env=()
while IFS= read -r var; do pip_env+=("$var"); done < <(env | grep '^PIP_' || true)
for dir in $( (python3 -m pip config list 2>/dev/null || true; env | grep '^PIP_' || true) |
              grep -oE "(file://)?/[^' ]+" | sed -e 's|^file://||' -e 's|/simple/*$||' | sort -u); do
    if [ -d "$dir" ] && [ "${dir#/etc}" = "$dir" ]; then bind -o ro "$dir"; fi
done

# full CI: a fresh clone of the committed HEAD; a command: the existing clone (and its .venv) moved to HEAD
if [ $# -eq 0 ] || [ ! -d "$ROOT/root/ci/.git" ]; then
    rm -rf "$ROOT/root/ci"
    git clone -q "$REPO" "$ROOT/root/ci"
else
    git -C "$ROOT/root/ci" fetch -q "$REPO" HEAD
    git -C "$ROOT/root/ci" reset -q --hard FETCH_HEAD
fi
rm -rf "$ROOT/root/shared"
if [ -d "$REPO/../shared" ]; then cp -rL "$REPO/../shared" "$ROOT/root/shared"; chmod -R u+w "$ROOT/root/shared"; fi
in_root bash -c 'g++ --version | head -n 1; ldd --version | head -n 1; python3 --version'
if [ $# -gt 0 ]; then
    in_root "${pip_env[@]}" bash -c 'cd /root/ci && "$@"' run "$@"
else
    in_root "${pip_env[@]}" CI=true bash -c 'cd /root/ci && .ci/run'
fi
