#!/usr/bin/env bash
# The IBSI lung CT in configurations A-E: Isotherm (read both images, process, every
# IBSI family in the configuration's aggregations: 2D and 2.5D for A and B, 3D for C-E)
# against pyradiomics on the same settings where it has them, best of 3 calls in one
# process each, side by side in one run (a benchmark, not a test). The CT is
# the tests' copy (CC BY-NC, testing only). Uses bench/.venv from bench/all.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=bench/.venv
[ -x $venv/bin/python ] || { echo "run bash bench/all.sh once first (it installs the peers)"; exit 1; }
cargo build --release --quiet -p isotherm-radiomics
data=plugins/radiomics/tests/data/ibsi-ct
echo "| configuration | Isotherm | pyradiomics 3.0.1 | Isotherm vs pyradiomics |"
echo "|---|---|---|---|"
for preset in ibsi-ct-a ibsi-ct-b ibsi-ct-c ibsi-ct-d ibsi-ct-e; do
  iso=$(target/release/isotherm-radiomics bench --ct $data/image.nii.gz --mask $data/mask.nii.gz --repeat 3 --preset $preset \
    | awk '{ print $1 }' | sort -g | head -1)
  read -r best n < <($venv/bin/python bench/ibsi_ct_pyradiomics.py $data/image.nii.gz $data/mask.nii.gz $preset)
  ratio=$(python3 -c "print(f'{$best / $iso:.1f}x faster')")
  values=$(target/release/isotherm-radiomics bench --ct $data/image.nii.gz --mask $data/mask.nii.gz --repeat 1 --preset $preset | grep -o '[0-9][0-9]* features' | head -1)
  echo "| $preset | $iso s ($values) | $best s ($n features) | **$ratio** |"
done
