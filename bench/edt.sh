#!/usr/bin/env bash
# Exact Euclidean distance transform against SciPy and SimpleITK on a 512 x 512 x 100 mask
# at 0.8 x 0.8 x 2.5 mm (a benchmark, not a test).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=bench/.venv
if [ ! -x $venv/bin/python ]; then python3 -m venv $venv; fi
$venv/bin/python -c 'import SimpleITK, scipy' 2>/dev/null || $venv/bin/pip install -q numpy scipy SimpleITK
cargo build --release --quiet -p isotherm-margin
target/release/isotherm-margin bench-edt --out bench/out-edt
$venv/bin/python bench/edt_peers.py bench/out-edt
