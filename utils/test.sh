#!/usr/bin/env bash
# The test command: installs what is missing, builds into build/, and runs the
# Catch2 unit tests and the lit suite through ctest. Exits non-zero on failure.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
thjit_install_packages
thjit_build "$@"
cd "$THJIT_ROOT/build"
ctest --output-on-failure -j"$(nproc)"
