#!/bin/sh
# Installs the wgcage release binary for this machine, checked against the
# release's SHA256SUMS:
#
#   curl -fsSL https://github.com/wgcage/wgcage/releases/latest/download/install.sh | sh
#
# Settings, from the environment:
#   WGCAGE_VERSION        the release to install, e.g. v0.1.0 (default: the latest)
#   WGCAGE_DOWNLOAD_URL   the base URL of the release's assets (a mirror; default:
#                         the GitHub release of WGCAGE_VERSION)
#   WGCAGE_INSTALL_DIR    where to put `wgcage` (default: /usr/local/bin as root,
#                         else ~/.local/bin)
#   WGCAGE_SKIP_VERIFY=1  install without checking SHA256SUMS (not recommended)
#   WGCAGE_ACTION=1       set by the GitHub Action (action/setup.sh), which puts
#                         the directory on the job's PATH itself: no PATH hint
#
# It prints one line of what it did (with the version the installed binary
# reports), or one line of why it did not (with the downloader's error), and
# writes nothing but the installed file (and its directory, if new).

set -eu

REPO_URL=https://github.com/wgcage/wgcage

fail() {
  echo "wgcage install: $*" >&2
  exit 1
}

# --- which binary --------------------------------------------------------

os=$(uname -s 2>/dev/null || echo unknown)
[ "$os" = Linux ] || fail "wgcage runs on Linux only, not $os; see $REPO_URL"
machine=$(uname -m 2>/dev/null || echo unknown)
case $machine in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=aarch64 ;;
  *) fail "no release binary for $machine (there are x86_64 and aarch64); build from source: $REPO_URL" ;;
esac
# The release binaries link against glibc: musl systems (Alpine) cannot run them.
case $arch in
  x86_64) loader=/lib64/ld-linux-x86-64.so.2 ;;
  aarch64) loader=/lib/ld-linux-aarch64.so.1 ;;
esac
if { ldd --version 2>&1 || true; } | grep -qi musl || [ ! -e "$loader" ]; then
  fail "the release binaries need glibc, which this system lacks (musl?): use a glibc distribution (Debian, Ubuntu, Fedora) or run wgcage from source with Deno"
fi
asset=wgcage-$arch-linux

version=${WGCAGE_VERSION:-latest}
case $version in
  latest | v*) ;;
  *) version=v$version ;;
esac
if [ -n "${WGCAGE_DOWNLOAD_URL:-}" ]; then
  base=${WGCAGE_DOWNLOAD_URL%/}
elif [ "$version" = latest ]; then
  base=$REPO_URL/releases/latest/download
else
  base=$REPO_URL/releases/download/$version
fi

# --- download ------------------------------------------------------------

tmp=$(mktemp -d 2>/dev/null || mktemp -d -t wgcage) || fail "cannot make a temporary directory"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Each fetch leaves the downloader's own error (an HTTP status, a DNS or TLS
# failure) in $tmp/fetch.err for the failure line.
if command -v curl >/dev/null 2>&1; then
  downloader=curl
  fetch() { curl -fsSL --retry 2 -o "$2" "$1" 2>"$tmp/fetch.err"; }
elif command -v wget >/dev/null 2>&1; then
  downloader=wget
  # -nv: quiet, but for errors ("ERROR 404: Not Found.").
  fetch() { wget -nv -O "$2" "$1" 2>"$tmp/fetch.err"; }
else
  fail "needs curl or wget to download; install one (apt-get install curl)"
fi

# Why the last fetch failed, in a few words: the downloader's last line of
# error, without wget's timestamp, else its exit status.
fetch_error() {
  status=$1
  why=$(tr -d '\r' <"$tmp/fetch.err" 2>/dev/null | sed -e 's/^[0-9-]* [0-9:]* //' -e '/^[[:space:]]*$/d' | tail -n 1)
  [ -n "$why" ] || why="$downloader exit $status"
  printf '%s' "$why"
}

fetch "$base/$asset" "$tmp/$asset" || fail "cannot download $base/$asset: $(fetch_error $?)"

# --- verify --------------------------------------------------------------

if [ "${WGCAGE_SKIP_VERIFY:-}" = 1 ]; then
  checked="NOT verified: WGCAGE_SKIP_VERIFY=1"
else
  fetch "$base/SHA256SUMS" "$tmp/SHA256SUMS" ||
    fail "cannot download $base/SHA256SUMS to verify $asset: $(fetch_error $?) (WGCAGE_SKIP_VERIFY=1 installs unverified)"
  # sha256sum writes lower-case hex; other tools (and hand-made lists) upper.
  expected=$(awk -v name="$asset" '$2 == name || $2 == "*" name { print $1 }' "$tmp/SHA256SUMS" |
    tr 'A-F' 'a-f')
  case $expected in
    "" | *[!0-9a-f]* ) fail "SHA256SUMS has no single sha256 for $asset; refusing to install it" ;;
  esac
  [ ${#expected} -eq 64 ] || fail "SHA256SUMS has no single sha256 for $asset; refusing to install it"
  if command -v sha256sum >/dev/null 2>&1; then
    actual=$(sha256sum "$tmp/$asset" | awk '{ print tolower($1) }')
  elif command -v shasum >/dev/null 2>&1; then
    actual=$(shasum -a 256 "$tmp/$asset" | awk '{ print tolower($1) }')
  elif command -v openssl >/dev/null 2>&1; then
    actual=$(openssl dgst -sha256 -r "$tmp/$asset" | awk '{ print tolower($1) }')
  else
    fail "needs sha256sum, shasum or openssl to verify $asset (WGCAGE_SKIP_VERIFY=1 installs unverified)"
  fi
  [ "$actual" = "$expected" ] ||
    fail "$asset does not match SHA256SUMS (got $actual, expected $expected); nothing installed"
  checked="sha256 verified against SHA256SUMS"
fi

# --- install -------------------------------------------------------------

if [ -n "${WGCAGE_INSTALL_DIR:-}" ]; then
  dir=${WGCAGE_INSTALL_DIR%/}
elif [ "$(id -u)" -eq 0 ]; then
  dir=/usr/local/bin
else
  [ -n "${HOME:-}" ] || fail "HOME is not set; set WGCAGE_INSTALL_DIR"
  dir=$HOME/.local/bin
fi
made_dir=
if [ ! -d "$dir" ]; then
  mkdir -p "$dir" 2>/dev/null || fail "cannot make $dir; set WGCAGE_INSTALL_DIR to a directory you can write"
  made_dir=1
fi
part=$dir/.wgcage.part.$$
if ! { cp "$tmp/$asset" "$part" 2>/dev/null && chmod 755 "$part" && mv -f "$part" "$dir/wgcage"; }; then
  rm -f "$part"
  [ -z "$made_dir" ] || rmdir "$dir" 2>/dev/null || true
  fail "cannot write $dir/wgcage; set WGCAGE_INSTALL_DIR to a directory you can write"
fi

# The Action puts $dir on the job's PATH itself; an export line would mislead there.
note=
if [ "${WGCAGE_ACTION:-}" != 1 ]; then
  case :${PATH:-}: in
    *":$dir:"*) ;;
    *) note="; $dir is not on PATH: add it (export PATH=\"$dir:\$PATH\")" ;;
  esac
fi
# The version the binary itself reports ("wgcage 0.1.0 (deno …)"): "latest"
# names none, and a mirror's URL may not either. The one asked for, if it
# cannot say.
installed=$("$dir/wgcage" version </dev/null 2>/dev/null |
  awk 'NR == 1 && $1 == "wgcage" { print $2 }') || true
case $installed in
  "" | *[!0-9A-Za-z.+~-]*) installed=$version checked="$checked; it did not report its version" ;;
  *) installed=v${installed#v} ;;
esac
echo "wgcage install: installed wgcage $installed ($asset, $checked) as $dir/wgcage$note"
