#!/bin/sh
# benchmarks/gpu_run.sh - thjit's GPU back end against PyTorch on the same
# CUDA device, side by side in one run (docs/performance.md, "GPU").
#
# usage: benchmarks/gpu_run.sh [--sizes full|small] [--rounds R]
#                              [--groups "elementwise gemm mlp"]
#                              [--bench PATH] [--python PY] [--out DIR]
#                              [--no-compile] [--peers-args ARGS]
#
#   --sizes    full (default: 1e8 elements, GEMM order 4096, minibatches 60
#              and 1024) or small (a smoke run: 1e4, 64, one timed call).
#   --rounds   rounds (default 1). Each round runs, for each group of
#              workloads, gpu_bench and gpu_peers.py one after the other,
#              alternating which goes first; ratios are taken within a
#              round and the table shows their median over rounds.
#   --groups   some of: elementwise (the copy and f1-f4), gemm, mlp.
#   --bench    a gpu_bench built already (a packed build, say); else it is
#              built in $THJIT_BUILD_DIR (default build/), configured there
#              if needed, which needs LLVM 19.
#   --python   the Python with PyTorch (default: $THJIT_GPU_PYTHON, else
#              python3).
#   --out      where the JSON lines, logs and table go (default
#              $THJIT_BUILD_DIR/benchmarks/gpu, or build/benchmarks/gpu).
#   --no-compile  leave torch.compile out (it compiles for tens of seconds).
#   --peers-args  more arguments for gpu_peers.py (--cpu tests this script
#              on a machine without a GPU; its numbers mean nothing).
#
# Writes OUT/thjit.jsonl and OUT/torch.jsonl (gpu_bench --json and
# gpu_peers.py --json, one object per workload per round), their standard
# error in OUT/thjit.log and OUT/torch.log, and prints the table
# (benchmarks/gpu_table.py) last, also into OUT/table.md. The exit status is
# 0 when both programs ran every group and every check passed, 1 otherwise,
# 3 when gpu_bench finds no CUDA device.
#
# Environment: THJIT_LIBDEVICE (NVIDIA's libdevice.10.bc, for the MLP's
# tanh, exp and log) defaults to the bench's ../share/libdevice.10.bc (a
# packed build) or $CUDA_HOME/nvvm/libdevice; THJIT_CACHE_DIR to a fresh
# folder in OUT. THJIT_CUDA_DRIVER=<build>/unittests/libthjitFakeCUDA.so
# with --bench <build>/bin/gpu_bench_emulated runs thjit's side on the
# emulated device (no GPU needed; the times mean nothing).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
sizes=full rounds=1 groups="elementwise gemm mlp"
bench=${THJIT_GPU_BENCH:-} out= peers_extra=
python=${THJIT_GPU_PYTHON:-python3}
usage() { sed -n '2,/^set -eu/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --sizes) sizes=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --groups) groups=$2; shift 2 ;;
    --bench) bench=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-compile) peers_extra="$peers_extra --no-compile"; shift ;;
    --peers-args) peers_extra="$peers_extra $2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gpu_run.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done

build=${THJIT_BUILD_DIR:-$root/build}
case $build in /*) ;; *) build=$root/$build ;; esac
if [ -z "$bench" ]; then
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target gpu_bench >/dev/null
  bench=$build/bin/gpu_bench
fi
[ -x "$bench" ] || { echo "gpu_run.sh: no program $bench" >&2; exit 2; }
out=${out:-$build/benchmarks/gpu}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [ -z "${THJIT_LIBDEVICE:-}" ]; then
  for f in "$(dirname "$bench")/../share/libdevice.10.bc" \
           "${CUDA_HOME:-/usr/local/cuda}/nvvm/libdevice/libdevice.10.bc"; do
    if [ -f "$f" ]; then export THJIT_LIBDEVICE="$f"; break; fi
  done
  [ -n "${THJIT_LIBDEVICE:-}" ] || echo "gpu_run.sh: warning: no libdevice.10.bc found" \
    "(set THJIT_LIBDEVICE): the MLP's tanh, exp and log would run on the host" >&2
fi
rm -rf "$out/cache"
export THJIT_CACHE_DIR="$out/cache"
export PYTHONUNBUFFERED=1

: >"$out/thjit.jsonl"
: >"$out/torch.jsonl"
: >"$out/thjit.log"
: >"$out/torch.log"
status=0 torch_ok=1
run_thjit() {
  rc=0
  "$bench" --json --sizes "$sizes" --only "$1" >>"$out/thjit.jsonl" 2>>"$out/thjit.log" || rc=$?
  if [ "$rc" = 3 ]; then
    cat "$out/thjit.log" >&2
    echo "gpu_run.sh: gpu_bench finds no CUDA device" >&2
    exit 3
  elif [ "$rc" != 0 ]; then
    echo "gpu_run.sh: gpu_bench --only $1 failed (exit $rc); see $out/thjit.log" >&2
    status=1
  fi
}
run_torch() {
  [ "$torch_ok" = 1 ] || return 0
  rc=0
  "$python" "$root/benchmarks/gpu_peers.py" --json --sizes "$sizes" --only "$1" \
    $peers_extra >>"$out/torch.jsonl" 2>>"$out/torch.log" || rc=$?
  if [ "$rc" = 3 ]; then
    cat "$out/torch.log" >&2
    echo "gpu_run.sh: no PyTorch on a CUDA device; its columns are left out" >&2
    torch_ok=0 status=1
  elif [ "$rc" != 0 ]; then
    echo "gpu_run.sh: gpu_peers.py --only $1 failed (exit $rc); see $out/torch.log" >&2
    status=1
  fi
}

r=1
while [ "$r" -le "$rounds" ]; do
  for g in $groups; do
    if [ $((r % 2)) = 1 ]; then order="thjit torch"; else order="torch thjit"; fi
    for who in $order; do
      echo "gpu_run.sh: round $r of $rounds, $g: $who" >&2
      "run_$who" "$g"
    done
  done
  r=$((r + 1))
done

"$python" "$root/benchmarks/gpu_table.py" "$out/thjit.jsonl" "$out/torch.jsonl" \
  | tee "$out/table.md"
echo "gpu_run.sh: results in $out" >&2
exit "$status"
