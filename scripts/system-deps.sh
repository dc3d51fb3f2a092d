#!/usr/bin/env bash
# Install the Debian packages named on the command line when their commands (or, for lib*
# packages and data packages (*-data, *-music-*), their installed status) are missing.
# Needs root and apt-get (as on the project's machines); elsewhere it says what to install and
# lets the tests that need them skip with that reason.
set -euo pipefail
declare -A cmd=( [qbittorrent-nox]=qbittorrent-nox [transmission-cli]=transmission-show
                 [aria2]=aria2c [opentracker]=opentracker [mktorrent]=mktorrent [ffmpeg]=ffmpeg [chromium]=chromium [wrk]=wrk
                 [libchromaprint-tools]=fpcalc )
missing=()
for pkg in "$@"; do
  if [[ $pkg == lib* && -z ${cmd[$pkg]:-} ]] || [[ $pkg == *-data || $pkg == *-music-* ]]; then
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    continue
  fi
  c=${cmd[$pkg]:-$pkg}
  command -v "$c" >/dev/null 2>&1 || [ -x "/usr/bin/$c" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "system-deps: missing ${missing[*]} (install them with apt-get as root); tests that need them will skip" >&2
  exit 0
fi
echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
