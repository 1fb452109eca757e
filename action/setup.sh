#!/bin/sh
# action.yml, step 3 (after the cache): installs wgcage through install.sh
# unless the cache had it, chooses rootless or sudo mode, and puts `wgcage`
# on PATH for the job's later steps.
#
# In:  WGCAGE_VERSION, WGCAGE_DIR (from prepare.sh), GITHUB_ACTION_PATH,
#      GITHUB_OUTPUT, GITHUB_PATH, RUNNER_TEMP
# Out: bin (the directory put on PATH), sudo (true or false)
set -eu
: "${GITHUB_OUTPUT:?is not set: run this as a step of action.yml}" "${GITHUB_PATH:?is not set}"
: "${RUNNER_TEMP:?is not set}" "${WGCAGE_DIR:?is not set}" "${WGCAGE_VERSION:?is not set}"
here=$(dirname -- "$0")
root=${GITHUB_ACTION_PATH:-$here/..}

if [ -x "$WGCAGE_DIR/wgcage" ]; then
  echo "wgcage action: $WGCAGE_VERSION from the cache ($WGCAGE_DIR/wgcage)"
else
  # WGCAGE_ACTION: the PATH step below, not the user, puts the binary on PATH.
  WGCAGE_INSTALL_DIR=$WGCAGE_DIR WGCAGE_VERSION=$WGCAGE_VERSION WGCAGE_ACTION=1 sh "$root/install.sh"
fi

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

bin=$RUNNER_TEMP/wgcage-bin
mkdir -p "$bin"
rm -f "$bin/wgcage"
if [ -n "$why" ]; then
  cat >"$bin/wgcage" <<WRAPPER
#!/bin/sh
# wgcage in sudo mode ($why): the caged command still runs as
# the invoking user, in a user namespace of its own; PATH and the environment go with it.
exec sudo -E env "PATH=\$PATH" "$WGCAGE_DIR/wgcage" "\$@"
WRAPPER
  chmod 755 "$bin/wgcage"
  sudo=true
  echo "wgcage action: sudo mode, because $why"
else
  ln -s "$WGCAGE_DIR/wgcage" "$bin/wgcage"
  sudo=false
  echo "wgcage action: rootless mode"
fi
echo "$bin" >>"$GITHUB_PATH"
{
  echo "bin=$bin"
  echo "sudo=$sudo"
} >>"$GITHUB_OUTPUT"
