#!/bin/sh
# benchmarks/run.sh - thjit's CPU JIT measured against NumPy, numexpr and
# plain C/BLAS baselines, side by side in one run (docs/performance.md).
#
# usage: benchmarks/run.sh [--quick] [--update-docs] [--rounds R] [--reps R]
#                          [--min-ms M] [--only f1 f2 f3 f4 exp tanh sum dot compile]
#
#   --quick        sizes 1e3, 1e6, 1e7 only, 2 rounds, shorter timings (about
#                  1 minute); the default run takes about 3 minutes.
#   --update-docs  also write the table into docs/performance.md.
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
# calls itself; start-up is never timed. The table goes to stdout and to
# $THJIT_BUILD_DIR/benchmarks/results.{md,csv,json}.
#
# numexpr comes from Debian's python3-numexpr: when it is missing, this
# script installs it if running as root, else it says so and the numexpr
# column is left out.
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
if ! /usr/bin/python3 -c 'import numexpr' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "run.sh: installing python3-numexpr" >&2
    apt-get install -y python3-numexpr >/dev/null 2>&1 ||
      echo "run.sh: could not install python3-numexpr; the numexpr column is left out" >&2
  else
    echo "run.sh: numexpr is missing (as root: apt-get install python3-numexpr);" \
         "the numexpr column is left out" >&2
  fi
fi

exec /usr/bin/python3 "$root/benchmarks/run.py" \
  --bench "$build/bin/cpu_jit_bench" --out "$build/benchmarks" "$@"
