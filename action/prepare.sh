#!/bin/sh
# action.yml, step 1: masks the config in the logs, then picks the release and
# the directory it is cached in.
#
# In:  INPUT_CONFIG, INPUT_VERSION, WGCAGE_ACTION_REF (the action's own ref),
#      GITHUB_OUTPUT, RUNNER_TEMP, RUNNER_TOOL_CACHE (optional)
# Out: version, dir (where the binary is cached), cacheable (true unless "latest")
set -eu
: "${GITHUB_OUTPUT:?is not set: run this as a step of action.yml}" "${RUNNER_TEMP:?is not set}"

# Each workflow command's data escapes %, CR and LF.
mask() {
  printf '::add-mask::%s\n' "$(printf '%s' "$1" | sed -e 's/%/%25/g' -e 's/\r/%0D/g')"
}

# From here on the runner hides every line of the config, and every value of
# 8 characters or more on its own (keys, endpoints, addresses), in all logs.
printf '%s\n' "${INPUT_CONFIG:-}" | tr -d '\r' | while IFS= read -r line || [ -n "$line" ]; do
  line=$(printf '%s' "$line" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')
  [ -n "$line" ] || continue
  mask "$line"
  case $line in
    *=*)
      value=$(printf '%s' "${line#*=}" | sed -e 's/^[[:space:]]*//')
      if [ ${#value} -ge 8 ]; then mask "$value"; fi
      ;;
  esac
done

version=${INPUT_VERSION:-}
if [ -z "$version" ]; then
  # The action's own tag, e.g. uses: wgcage/wgcage@v0.1.0, else the latest release.
  case ${WGCAGE_ACTION_REF:-} in
    v[0-9]*) version=$WGCAGE_ACTION_REF ;;
    *) version=latest ;;
  esac
fi
case $version in
  latest | v*) ;;
  *) version=v$version ;;
esac
case $(uname -m) in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=aarch64 ;;
  *) arch=$(uname -m) ;;
esac
dir=${RUNNER_TOOL_CACHE:-$RUNNER_TEMP}/wgcage/$version/$arch
cacheable=true
[ "$version" != latest ] || cacheable=false
{
  echo "version=$version"
  echo "dir=$dir"
  echo "cacheable=$cacheable"
} >>"$GITHUB_OUTPUT"
