#!/bin/sh
# benchmarks/run.sh - thjit's CPU JIT measured against NumPy, numexpr and
# plain C/BLAS baselines, side by side in one run (docs/performance.md).
#
# usage: benchmarks/run.sh [--quick] [--update-docs] [--rounds R] [--reps R]
#                          [--min-ms M] [--only limits f1 f2 f3 f4 exp tanh sum
#                          dot train_lr train_mlp train_mlp32 call first_result
#                          compile compile_scaling]
#
#   --quick        a smoke run: every workload once, briefly (about 20 s;
#                  the lit test test/Benchmarks/quick.test runs it, so CI
#                  checks that every row prints). The default run takes
#                  about 6 minutes.
#   --update-docs  also write the table into docs/performance.md and the
#                  plots into docs/img/.
#   --rounds, --reps, --min-ms   rounds per workload (3), repetitions per
#                  process (5), minimum time of one timed batch (20 ms).
#   --only         some workloads (compile: the 1000-op chain).
#
# Environment:
#   THJIT_BUILD_DIR    CMake build folder (default: build/ in the repository);
#                      configured if missing, then `cpu_jit_bench` is built.
#   THJIT_NUM_THREADS  threads of thjit's parallel loops; the C baselines and
#                      numexpr use the same number (default: all cores).
#   THJIT_CACHE_DIR    compile cache; by default a fresh folder under the
#                      results folder, so $HOME's cache is left alone.
#
# Each workload and size runs in rounds; a round runs the C++ program
# (thjit + C baselines, build/bin/cpu_jit_bench) and the Python peers
# (benchmarks/peers.py under /usr/bin/python3) one after the other, so
# machine drift cancels in the ratios. Every process warms up and times many
# calls itself; start-up is never timed (except in first_result, which times
# a whole `thjit` process). The machine's limits (triad bandwidth, dgemm and
# sgemm peaks) are measured first, in the same run. The table goes to stdout
# and to $THJIT_BUILD_DIR/benchmarks/results.{md,csv,json}, the plots
# (benchmarks/plots.py) to elementwise.png, training.png and compile.png.
#
# numexpr, PyTorch and matplotlib come from Debian's python3-numexpr,
# python3-torch and python3-matplotlib: when one is missing, this script
# installs it if running as root, else it says so and leaves it out.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${THJIT_BUILD_DIR:-$root/build}
case $build in /*) ;; *) build=$root/$build ;; esac

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" >/dev/null
fi
cmake --build "$build" -j2 --target cpu_jit_bench >/dev/null

if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  echo "run.sh: /usr/bin/python3 has no numpy (apt-get install python3-numpy)" >&2
  exit 1
fi
# The optional peers (numexpr, PyTorch) and the plots (matplotlib): Debian's
# packages, installed when running as root, else their columns are left out.
for peer in numexpr:python3-numexpr torch:python3-torch matplotlib:python3-matplotlib; do
  module=${peer%%:*} package=${peer#*:}
  /usr/bin/python3 -c "import $module" 2>/dev/null && continue
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "run.sh: installing $package" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "$package" >/dev/null 2>&1 ||
      echo "run.sh: could not install $package; it is left out" >&2
  else
    echo "run.sh: $module is missing (as root: apt-get install $package);" \
         "it is left out" >&2
  fi
done

exec /usr/bin/python3 "$root/benchmarks/run.py" \
  --bench "$build/bin/cpu_jit_bench" --out "$build/benchmarks" "$@"
