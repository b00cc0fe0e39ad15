#!/bin/sh
# Install, with apt-get, every Debian package that building, testing and the
# demo need — only those missing. Run by `make deps`, `make check`, `make demo`.
# `scripts/deps.sh build` (`make deps-build`) installs only what building and
# installing need (e.g. in a publisher's CI). `scripts/deps.sh --missing
# build` only prints the missing build packages (the Makefile's check before
# it builds); it prints nothing where dpkg is not there to ask.
#
# Besides Debian's packages, the full run installs the one npm package the
# tests use (s3rver: an S3-compatible server on loopback for
# tests/ci/test_publish_s3_real.sh) into tests/ci/s3rver/node_modules, from
# the package.json and package-lock.json committed there, with `npm ci` — only
# when it is missing or the lock file changed since.
set -eu

BUILD_PKGS="
gcc make pkg-config
libsodium-dev libcjson-dev libcurl4-openssl-dev libmbedtls-dev
libdivsufsort-dev libbz2-dev libzstd-dev liblzma-dev
"

# Tests only: the last line is what `pkg-config --static --libs libcurl`
# names, for tests/install's static link against libpatchcast.a.
PKGS="$BUILD_PKGS
minisign bsdiff xdelta3 zstd nginx-light iproute2
clang libclang-rt-14-dev valgrind strace
ca-certificates openssl curl python3
chromium
rsync python3-yaml man-db groff-base dpkg-dev cppcheck
awscli rclone
python3-pyqt5 python3-pytest python3-pytestqt xvfb xauth python3-pip python3-setuptools python3-wheel
libnghttp2-dev librtmp-dev libssh2-1-dev libpsl-dev libkrb5-dev libldap-dev
"

# Node.js and npm for s3rver: Debian's, unless node and npm are there already
# (NodeSource's nodejs package brings npm and conflicts with Debian's).
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

list_only=""
if [ "${1:-}" = --missing ]; then list_only=1; shift; fi
[ "${1:-}" = build ] && PKGS=$BUILD_PKGS
if [ -n "$list_only" ] && ! command -v dpkg-query >/dev/null 2>&1; then exit 0; fi

missing=""
for p in $PKGS; do
    # dpkg -s succeeds for removed-but-configured packages too; check the status line.
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -n "$list_only" ]; then
    echo $missing
    exit 0
fi

# npm_deps: s3rver into tests/ci/s3rver/node_modules unless the lock file
# installed there last is the committed one.
npm_deps() {
    npm_dir=$(cd "$(dirname "$0")/../tests/ci/s3rver" && pwd)
    if [ -x "$npm_dir/node_modules/.bin/s3rver" ] &&
        cmp -s "$npm_dir/package-lock.json" "$npm_dir/node_modules/.patchcast-lock.json"; then
        echo "deps: the npm packages of tests/ci/s3rver are installed"
        return 0
    fi
    echo "deps: npm ci in tests/ci/s3rver"
    (cd "$npm_dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) &&
        cp "$npm_dir/package-lock.json" "$npm_dir/node_modules/.patchcast-lock.json"
}

if [ -z "$missing" ]; then
    echo "deps: all ${1:-build, test and demo} packages are installed"
else
    if [ "$(id -u)" -eq 0 ]; then
        SUDO=""
    elif command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "deps: missing packages:$missing" >&2
        echo "deps: not root and no sudo; install them with apt-get and re-run" >&2
        exit 1
    fi

    echo "deps: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $missing
    echo "deps: done"
fi

[ "${1:-}" = build ] || npm_deps
