# Sourced by .ci/run (bash, under set -euo pipefail): `apt_mirror [APT_DIR]`
# prints the address of the main Debian archive that the machine's apt sources
# use, so that bookworm-backports is added from the same mirror.
#
# Both forms a Debian 12 machine can have are read, and neither is assumed:
# the one-line sources.list that the installer and debootstrap write, and the
# deb822 sources.list.d/*.sources that Docker's debian images ship. The main
# archive is the enabled `deb` entry for a suite without a dash (bookworm, or
# stable; not bookworm-security or -updates). With none, or no file at all, it
# prints http://deb.debian.org/debian, apt's own default archive, and succeeds:
# a missing file is not an error here.
#
# APT_DIR (default /etc/apt) lets tests point it at a directory of their own.

apt_mirror() {
  local dir=${1:-/etc/apt} file found=
  local -a files=()
  for file in "$dir/sources.list" "$dir"/sources.list.d/*.list "$dir"/sources.list.d/*.sources; do
    if [ -f "$file" ]; then files+=("$file"); fi
  done
  if [ ${#files[@]} -gt 0 ]; then
    found=$(awk '
      # One-line form: deb [options] URI SUITE COMPONENT...
      FNR == 1 { stanza_end() }
      FILENAME ~ /\.list$/ {
        line = $0
        sub(/#.*/, "", line)
        gsub(/\[[^]]*\]/, " ", line)
        n = split(line, f, " ")
        if (n >= 3 && f[1] == "deb" && f[3] !~ /-/) main(f[2])
        next
      }
      # deb822 form: stanzas of Field: value lines, separated by blank lines.
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { stanza_end(); next }
      /^[A-Za-z-]+:/ {
        field = tolower($1)
        value = $0
        sub(/^[^:]*:[[:space:]]*/, "", value)
        if (field == "types:") types = value
        else if (field == "uris:") uris = value
        else if (field == "suites:") suites = value
        else if (field == "enabled:") enabled = tolower(value)
      }
      END { stanza_end() }
      function stanza_end(   t, s, u, nt, ns, i, j) {
        if (uris != "" && enabled != "no") {
          nt = split(types, t, " ")
          ns = split(suites, s, " ")
          split(uris, u, " ")
          for (i = 1; i <= nt; i++) if (t[i] == "deb")
            for (j = 1; j <= ns; j++) if (s[j] !~ /-/) main(u[1])
        }
        types = uris = suites = enabled = ""
      }
      function main(uri) {
        sub(/\/+$/, "", uri)
        if (!printed) print uri
        printed = 1
      }
    ' "${files[@]}")
  fi
  printf '%s\n' "${found:-http://deb.debian.org/debian}"
}
