#!/bin/sh
# action.yml, step 4 (when the run input is set): runs it with bash inside the
# cage. The config comes in WGCAGE_ACTION_CONFIG, which wgcage's --config-env
# takes out of the environment before the command starts: neither the
# command nor anything it starts can read it there.
#
# In: WGCAGE_ACTION_CONFIG, WGCAGE_ACTION_RUN, WGCAGE_BIN (from setup.sh)
set -eu
: "${WGCAGE_BIN:?is not set: run this as a step of action.yml}"
if [ -z "${WGCAGE_ACTION_CONFIG:-}" ]; then
  echo "wgcage action: the run input needs the config input (the wg-quick text, from a secret)" >&2
  exit 1
fi
exec "$WGCAGE_BIN/wgcage" --config-env WGCAGE_ACTION_CONFIG -- \
  bash --noprofile --norc -eo pipefail -c "$WGCAGE_ACTION_RUN"
