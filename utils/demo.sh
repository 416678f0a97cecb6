#!/usr/bin/env bash
# The demo: builds thjit, then trains the seed paper's logistic regression
# (Figures 1-4) with the script runner.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
thjit_install_packages
thjit_build
exec "$THJIT_ROOT/build/bin/thjit" "$THJIT_ROOT/examples/logistic_regression.th"
