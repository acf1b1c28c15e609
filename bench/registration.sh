#!/usr/bin/env bash
# Registration speed and accuracy against elastix (itk-elastix) and SimpleITK on the same
# phantom pair with a known deformation (a benchmark, not a test).
#   bash bench/registration.sh [size] [seed]     # size: demo | medium (default) | full
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-medium}
seed=${2:-5}
venv=bench/.venv
if [ ! -x $venv/bin/python ]; then python3 -m venv $venv; fi
$venv/bin/python -c 'import SimpleITK, itk, scipy' 2>/dev/null || $venv/bin/pip install -q numpy scipy SimpleITK itk-elastix
cargo build --release --quiet -p isotherm-margin
out=bench/out-registration
target/release/isotherm-margin bench-registration --size "$size" --seed "$seed" --out $out
$venv/bin/python bench/registration_peers.py $out
