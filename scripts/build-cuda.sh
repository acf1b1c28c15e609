#!/usr/bin/env bash
# Builds the segmentation tool (`isotherm-segmentation`) with `--features cuda` on a
# machine without a GPU or a CUDA toolkit: nvcc and headers come from NVIDIA's PyPI
# wheels (CUDA 13.0, for driver 580 / H100: CUDA_COMPUTE_CAP=90), and candle-core's
# cudarc is switched from dynamic linking to dynamic loading, so the binary starts
# anywhere, uses the CPU where no driver answers, and opens libcuda only when asked.
# Needs network access (PyPI, crates.io) once. About 7 minutes on 2 cores.
#   bash scripts/build-cuda.sh          # -> target/cuda/release/isotherm-segmentation
# The same recipe, worked through with its pitfalls: shared/tools/cuda-build/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD/target/cuda-toolkit
mkdir -p "$root"
[ -x "$root/venv/bin/pip" ] || python3 -m venv "$root/venv"
"$root/venv/bin/pip" install -q --disable-pip-version-check \
  nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88 \
  nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85
cuda=$(ls -d "$root"/venv/lib/python3*/site-packages/nvidia/cu13)
export CUDA_ROOT=$cuda CUDA_HOME=$cuda CUDA_PATH=$cuda PATH=$cuda/bin:$PATH CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
# candle-kernels asks for -lcudart without saying where: link the static runtime.
mkdir -p "$root/cudart-static"
echo "INPUT($cuda/lib/libcudart_static.a)" > "$root/cudart-static/libcudart.so"
cargo fetch --quiet
patched=$root/candle-core
if [ ! -f "$patched/Cargo.toml" ]; then
  cp -r "$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/candle-core-0.11.1 | head -1)" "$patched"
  rm -f "$patched/.cargo-ok"
  sed -i 's/^    "dynamic-linking",$/    "dynamic-loading",/' "$patched/Cargo.toml"
fi
grep -q '"dynamic-loading"' "$patched/Cargo.toml"
# The patch rewrites Cargo.lock's candle-core entry: put the committed one back after.
cp Cargo.lock "$root/Cargo.lock.committed"
trap 'cp "$root/Cargo.lock.committed" Cargo.lock' EXIT
CARGO_TARGET_DIR=target/cuda RUSTFLAGS="-L native=$root/cudart-static" \
  cargo build --release -p isotherm-segmentation-core --features cuda \
  --config "patch.crates-io.candle-core.path='$patched'"
ls -la target/cuda/release/isotherm-segmentation
