#!/usr/bin/env bash
# Fresh-machine setup for Cluster on Debian 12 (run as root). Idempotent: a machine that
# already has everything is left untouched and this returns in well under a second.
#  - libstdc++ from GCC >= 13 (TorchSharp 0.107 needs GLIBCXX_3.4.32): taken from Debian 13
#    "trixie", whose entry is derived from the URIs already configured in this machine's apt
#    sources (no mirror host is written here), pinned low so nothing else moves to trixie.
#  - redis-server (clustered mode and its tests), dataset-fashion-mnist (real data).
set -euo pipefail

log() { printf '[bootstrap] %s\n' "$*" >&2; }

need_glibcxx="GLIBCXX_3.4.32"
libstdcxx_ok() {
  local f
  for f in /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib/aarch64-linux-gnu/libstdc++.so.6; do
    [ -e "$f" ] && grep -aq "$need_glibcxx" "$f" && return 0
  done
  return 1
}

pkgs_missing() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  printf '%s\n' "${missing[@]:-}"
}

if [ "$(id -u)" != 0 ]; then
  if libstdcxx_ok && [ -z "$(pkgs_missing redis-server dataset-fashion-mnist)" ]; then exit 0; fi
  log "not root and packages are missing: run 'sudo deploy/bootstrap.sh'"; exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_update() { if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi; }

# The base archive's URI, read from the machine's own apt configuration.
debian_uri() {
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
  fi
  printf '%s' "$uri"
}

if ! libstdcxx_ok; then
  src=/etc/apt/sources.list.d/cluster-trixie.sources
  if [ ! -f "$src" ]; then
    uri=$(debian_uri)
    [ -n "$uri" ] || { log "cannot find a Debian URI in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"; exit 1; }
    log "adding Debian 13 (trixie) next to $uri for libstdc++6 (GCC >= 13)"
    printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" >"$src"
    printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' >/etc/apt/preferences.d/cluster-trixie
  fi
  apt_update
  apt-get install -y -qq -t trixie libstdc++6 >/dev/null
  libstdcxx_ok || { log "libstdc++6 from trixie installed but $need_glibcxx still missing"; exit 1; }
fi

missing=$(pkgs_missing redis-server dataset-fashion-mnist procps)
if [ -n "$missing" ]; then
  log "installing: $(echo $missing)"
  apt_update
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# redis-server's package starts a system instance; tests and the CLI start their own.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now redis-server >/dev/null 2>&1 || true; fi
exit 0
