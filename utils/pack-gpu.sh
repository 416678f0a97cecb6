#!/usr/bin/env bash
# Packs thjit and its GPU test programs for a machine without LLVM (the GPU
# machine: docs/gpu-backend.md, "Carrying a build to a GPU machine").
# Configures and builds into build-static/ with THJIT_STATIC_LLVM=ON (LLVM,
# OpenBLAS and libstdc++ linked into one lib/libthjit_all.so), strips, and
# writes pack/thjit-gpu.tar.xz:
#   thjit-gpu/bin/      thjit, RuntimeTests, DifferentialTests, CUDATests,
#                       gpu_bench (for benchmarks/gpu_run.sh --bench)
#   thjit-gpu/lib/      libthjit_all.so, libthjitFakeCUDA.so (the fake driver)
#   thjit-gpu/share/    libdevice.10.bc (NVIDIA's, from this machine's CUDA)
#   thjit-gpu/run-gpu-tests.sh
# There: tar xJf thjit-gpu.tar.xz && thjit-gpu/run-gpu-tests.sh
# The programs need only glibc, libz and libzstd; this script checks that.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
thjit_install_packages

BUILD="$THJIT_ROOT/build-static"
PACK_DIR="$THJIT_ROOT/pack"
NAME=thjit-gpu
TESTS=(RuntimeTests DifferentialTests CUDATests)
JOBS="${THJIT_PACK_JOBS:-2}"

cmake -S "$THJIT_ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
      -DTHJIT_STATIC_LLVM=ON -DTHJIT_BUILD_TESTS=ON >/dev/null
cmake --build "$BUILD" -j"$JOBS" --target thjit gpu_bench "${TESTS[@]}" thjitFakeCUDA

stage="$BUILD/pack/$NAME"
rm -rf "$BUILD/pack"
mkdir -p "$stage/bin" "$stage/lib" "$stage/share"
install -m755 "$BUILD/bin/thjit" "$BUILD/bin/gpu_bench" "$stage/bin/"
for t in "${TESTS[@]}"; do install -m755 "$BUILD/unittests/$t" "$stage/bin/"; done
install -m755 "$BUILD/lib/libthjit_all.so" "$BUILD/unittests/libthjitFakeCUDA.so" "$stage/lib/"
strip "$stage"/bin/*
strip --strip-unneeded "$stage"/lib/*.so

# NVIDIA's libdevice (math functions of kernels): the GPU machine may have
# a driver but no CUDA toolkit.
libdevice="${THJIT_LIBDEVICE:-${CUDA_HOME:-/usr/local/cuda}/nvvm/libdevice/libdevice.10.bc}"
if [ -f "$libdevice" ]; then
  install -m644 "$libdevice" "$stage/share/libdevice.10.bc"
else
  echo "pack-gpu: warning: no libdevice at $libdevice: kernels with math" \
       "functions will need THJIT_LIBDEVICE on the GPU machine" >&2
fi

# Only glibc, libz, libzstd and our own library may be needed.
allowed='^(libc|libm|libpthread|libdl|librt|ld-linux-x86-64|libz|libzstd|libthjit_all)\.so'
bad=0
for f in "$stage"/bin/* "$stage"/lib/*.so; do
  needed=$(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  for n in $needed; do
    if ! [[ $n =~ $allowed ]]; then
      echo "pack-gpu: $(basename "$f") needs $n, which the GPU machine may lack" >&2
      bad=1
    fi
  done
done
[ "$bad" -eq 0 ] || exit 1
glibc=$(objdump -T "$stage"/bin/* "$stage"/lib/*.so | grep -o 'GLIBC_[0-9][0-9.]*' | sort -uV | tail -1)

cat >"$stage/run-gpu-tests.sh" <<'EOF'
#!/usr/bin/env bash
# Runs thjit's GPU tests from this folder (made by utils/pack-gpu.sh):
# `thjit --devices`, then the [gpu] cases of RuntimeTests and
# DifferentialTests (kernels on the first CUDA device, or the one
# $THJIT_CUDA_DEVICE names), then CUDATests (the runtime's host side, on the
# fake driver in lib/). Arguments go to every test program (Catch2 options:
# -s, --durations yes, ...). Exits non-zero when anything fails, or when the
# [gpu] cases skipped for want of a device.
# THJIT_CUDA_DRIVER=<this folder>/lib/libthjitFakeCUDA.so runs the kernels
# in the emulator instead (slow; for checking the pack without a GPU).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="$(mktemp -d "${TMPDIR:-/tmp}/thjit-cache.XXXXXX")"
log="$cache/log"
trap 'rm -rf "$cache"' EXIT
export THJIT_CACHE_DIR="$cache/cache"
if [ -z "${THJIT_LIBDEVICE:-}" ] && [ -f "$here/share/libdevice.10.bc" ]; then
  export THJIT_LIBDEVICE="$here/share/libdevice.10.bc"
fi

failed=()
run() { # NAME COMMAND...
  local name=$1; shift
  echo "=== $name"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    failed+=("$name (exit $rc)")
  elif grep -q "skipped: no CUDA device" "$log"; then
    failed+=("$name (skipped: no CUDA device)")
  fi
}

run "thjit --devices" "$here/bin/thjit" --devices
run "RuntimeTests [gpu]" "$here/bin/RuntimeTests" "[gpu]" "$@"
run "DifferentialTests [gpu]" "$here/bin/DifferentialTests" "[gpu]" "$@"
run "CUDATests (fake driver)" \
  env THJIT_CUDA_DRIVER="$here/lib/libthjitFakeCUDA.so" "$here/bin/CUDATests" "$@"

echo "==="
if [ ${#failed[@]} -ne 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
echo "all passed"
EOF
chmod 755 "$stage/run-gpu-tests.sh"

mkdir -p "$PACK_DIR"
XZ_OPT="-9 -T${JOBS}" tar -cJf "$PACK_DIR/$NAME.tar.xz" -C "$BUILD/pack" "$NAME"
echo "pack-gpu: files (stripped):"
(cd "$stage" && find . -type f -printf '  %-28p %10s bytes\n' | sort)
echo "pack-gpu: needs glibc >= ${glibc#GLIBC_}, libz.so.1, libzstd.so.1"
echo "pack-gpu: $PACK_DIR/$NAME.tar.xz: $(stat -c %s "$PACK_DIR/$NAME.tar.xz") bytes" \
     "($(du -h "$PACK_DIR/$NAME.tar.xz" | cut -f1))"
