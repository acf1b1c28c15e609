#!/usr/bin/env bash
# Radiomics speed against pyradiomics on the same input (a benchmark, not a test):
# a 256 x 256 x 128 synthetic CT with one ~40 mm lesion, every feature family, bin
# width 25 HU, re-segmentation [-500, 400] HU. Installs pyradiomics in bench/.venv.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=bench/.venv
if [ ! -x $venv/bin/python ]; then
  python3 -m venv $venv
  $venv/bin/pip install -q numpy SimpleITK setuptools wheel versioneer
  $venv/bin/pip install -q --no-build-isolation pyradiomics
fi
cargo build --quiet
iso=target/debug/isotherm
case=bench/case
[ -f $case/pre_ct.nii.gz ] || $iso phantom --seed 5 --size medium --tumours 1 --radius 20,20 --no-field --out $case > /dev/null
echo "Isotherm, read both images + every IBSI family and aggregation (what pyradiomics' execute does):"
target/debug/isotherm-radiomics bench --ct $case/pre_ct.nii.gz --mask $case/pre_tumours.nii.gz --repeat 5
echo "Isotherm end to end (isotherm run radiomics: start, plugin load, provenance hashes, surfaces, files written):"
for run in 1 2 3; do
  /usr/bin/time -f "  %e s wall" $iso run radiomics -i ct=$case/pre_ct.nii.gz -i mask=$case/pre_tumours.nii.gz -o bench/out-isotherm > /dev/null
done
echo "pyradiomics $($venv/bin/python -c 'import radiomics; print(radiomics.__version__)') (all feature classes, 3D):"
for run in 1 2 3; do
  $venv/bin/python bench/pyradiomics_run.py $case/pre_ct.nii.gz $case/pre_tumours.nii.gz
done
