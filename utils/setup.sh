#!/usr/bin/env bash
# Installs the Debian 12 packages thjit builds and tests with, when missing,
# and configures and builds into build/ with all cores. Sourced by test.sh and
# demo.sh; run alone it just builds.
set -euo pipefail

THJIT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# python3-numpy: the benchmarks' NumPy peer (their smoke run is a test);
# libedit-dev: the REPL's line editing (LLVM's LineEditor); tmux: the REPL's
# tests drive it through a terminal; graphviz: --emit=dot's pictures.
THJIT_PACKAGES=(cmake g++ make python3 python3-numpy catch2 llvm-19-dev
                llvm-19-tools libopenblas-dev libzstd-dev libedit-dev tmux
                graphviz)

thjit_install_packages() {
  local missing=()
  for p in "${THJIT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "thjit: installing Debian packages: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "thjit: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

thjit_build() {
  cmake -S "$THJIT_ROOT" -B "$THJIT_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$THJIT_ROOT/build" -j"$(nproc)"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  thjit_install_packages
  thjit_build "$@"
fi
