#!/usr/bin/env bash
# Segmentation inference speed, Candle vs PyTorch on the same weights and the same
# forward passes (a benchmark, not a test). Installs torch in bench/.venv-torch.
#   bash bench/segmentation.sh [size] [device]     # size: demo | medium | full (default)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-full}
device=${2:-cpu}
venv=bench/.venv-torch
if [ ! -x $venv/bin/python ] || ! $venv/bin/python -c 'import torch, safetensors' 2>/dev/null; then
  python3 -m venv $venv
  $venv/bin/pip install -q torch safetensors numpy
fi
cargo build --release --quiet -p isotherm-segmentation-core
target/release/isotherm-segmentation bench --size "$size" --device "$device" --out bench/out-segmentation
$venv/bin/python bench/segmentation_torch.py assets/models/segmentation bench/out-segmentation
