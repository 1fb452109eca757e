#!/bin/sh
# action.yml, step 3 (after the cache): installs wgcage through install.sh
# unless the cache had it, chooses rootless or sudo mode, and puts `wgcage`
# on PATH for the job's later steps.
#
# In:  WGCAGE_VERSION, WGCAGE_DIR (from prepare.sh), GITHUB_ACTION_PATH,
#      GITHUB_OUTPUT, GITHUB_PATH, RUNNER_TEMP; WGCAGE_DOWNLOAD_URL (a mirror,
#      for install.sh); WGCAGE_ACTION_SYSTEM_DIR (sudo mode's root-owned
#      directory, default /usr/local/lib/wgcage-action)
# Out: bin (the directory put on PATH), sudo (true or false)
#
# Sudo mode runs wgcage as root, while the caged command runs as this user,
# who can write RUNNER_TEMP, the tool cache and everything of the job's: a
# binary or wrapper there could be replaced by the command and run as root
# by the next `wgcage`. So in sudo mode both live in a directory that root
# owns (0755, every directory above it root's too), and the binary there is
# downloaded and checked against SHA256SUMS by install.sh run as root, never
# copied from the tool cache, which an earlier job's command could have
# replaced before the cache was saved (a distribution's packages reach
# /usr the same way: from the verified source, not from a user's copy).
set -eu
: "${GITHUB_OUTPUT:?is not set: run this as a step of action.yml}" "${GITHUB_PATH:?is not set}"
: "${RUNNER_TEMP:?is not set}" "${WGCAGE_DIR:?is not set}" "${WGCAGE_VERSION:?is not set}"
here=$(dirname -- "$0")
root=${GITHUB_ACTION_PATH:-$here/..}

# Rootless mode needs unprivileged user namespaces with their capabilities
# (ubuntu-24.04 runners restrict them through AppArmor) and a usable
# /dev/net/tun; where either is missing, wgcage runs through sudo. Under sudo
# the command still runs as this user, in a user namespace of the cage's own.
why=
restrict=/proc/sys/kernel/apparmor_restrict_unprivileged_userns
if [ "$(id -u)" -ne 0 ]; then
  if [ "$(cat "$restrict" 2>/dev/null || echo 0)" = 1 ]; then
    why="kernel.apparmor_restrict_unprivileged_userns=1"
  elif ! unshare --user --map-root-user --net true >/dev/null 2>&1; then
    why="this user cannot make a user and network namespace (unshare -Urn)"
  elif ! { [ -r /dev/net/tun ] && [ -w /dev/net/tun ]; }; then
    why="/dev/net/tun is not read-write for this user"
  fi
fi

# Fails unless $1 and every directory above it are root's and writable by
# no one else (a world-writable one only with the sticky bit, as /tmp).
root_owned_path() {
  d=$1
  while :; do
    set -- $(stat -c '%u %a' "$d")
    if [ "$1" != 0 ] || { [ $((0$2 & 022)) -ne 0 ] && [ $((0$2 & 01000)) -eq 0 ]; }; then
      echo "wgcage action: $d is not root's alone (owner $1, mode $2); sudo mode needs a root-owned WGCAGE_ACTION_SYSTEM_DIR" >&2
      exit 1
    fi
    [ "$d" != / ] || return 0
    d=$(dirname -- "$d")
  done
}

if [ -n "$why" ]; then
  sys=${WGCAGE_ACTION_SYSTEM_DIR:-/usr/local/lib/wgcage-action}/$WGCAGE_VERSION
  case $sys in /*) ;; *) echo "wgcage action: WGCAGE_ACTION_SYSTEM_DIR must be absolute" >&2; exit 1 ;; esac
  bin=$sys/bin
  sudo install -d -m 0755 -o root -g root "$sys" "$bin"
  root_owned_path "$bin"
  # WGCAGE_ACTION: the PATH step below, not the user, puts the binary on PATH.
  sudo env WGCAGE_INSTALL_DIR="$sys" WGCAGE_VERSION="$WGCAGE_VERSION" WGCAGE_ACTION=1 \
    ${WGCAGE_DOWNLOAD_URL:+WGCAGE_DOWNLOAD_URL="$WGCAGE_DOWNLOAD_URL"} sh "$root/install.sh"
  sudo chown root:root "$sys/wgcage"
  sudo chmod 0755 "$sys/wgcage"
  sudo tee "$bin/wgcage" >/dev/null <<WRAPPER
#!/bin/sh
# wgcage in sudo mode ($why): the caged command still runs as
# the invoking user, in a user namespace of its own; PATH and the environment go with it.
# Root owns this file and $sys/wgcage: the command cannot replace either.
exec sudo -E env "PATH=\$PATH" "$sys/wgcage" "\$@"
WRAPPER
  sudo chmod 0755 "$bin/wgcage"
  sudo=true
  echo "wgcage action: sudo mode, because $why"
else
  if [ -x "$WGCAGE_DIR/wgcage" ]; then
    echo "wgcage action: $WGCAGE_VERSION from the cache ($WGCAGE_DIR/wgcage)"
  else
    WGCAGE_INSTALL_DIR=$WGCAGE_DIR WGCAGE_VERSION=$WGCAGE_VERSION WGCAGE_ACTION=1 sh "$root/install.sh"
  fi
  bin=$RUNNER_TEMP/wgcage-bin
  mkdir -p "$bin"
  rm -f "$bin/wgcage"
  ln -s "$WGCAGE_DIR/wgcage" "$bin/wgcage"
  sudo=false
  echo "wgcage action: rootless mode"
fi
echo "$bin" >>"$GITHUB_PATH"
{
  echo "bin=$bin"
  echo "sudo=$sudo"
} >>"$GITHUB_OUTPUT"
