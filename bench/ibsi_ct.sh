#!/usr/bin/env bash
# The IBSI lung CT in configurations A-E against pyradiomics 3.0.1 on the same settings
# where it has them, side by side in one run (a benchmark, not a test). Isotherm twice:
# every IBSI family in the configuration's own aggregations (2D and 2.5D for A and B,
# 3D for C-E), and only the families pyradiomics computes (`--families pyradiomics`:
# the same work). Each time reads both images and processes them; best of 5 calls in
# one process each, pyradiomics' `execute` too. The CT is the tests' copy (CC BY-NC,
# testing only). Uses bench/.venv from bench/all.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=bench/.venv
[ -x $venv/bin/python ] || { echo "run bash bench/all.sh once first (it installs the peers)"; exit 1; }
cargo build --release --quiet -p isotherm-radiomics
data=plugins/radiomics/tests/data/ibsi-ct
iso() { # PRESET FAMILIES -> "SECONDS N"
  target/release/isotherm-radiomics bench --ct $data/image.nii.gz --mask $data/mask.nii.gz --repeat 5 --preset $1 --families $2 \
    | sed -E 's/^ *([0-9.]+) s wall.* ([0-9]+) features$/\1 \2/' | sort -g | head -1
}
echo "| configuration | pyradiomics 3.0.1 | Isotherm, pyradiomics' families (same work) | Isotherm, every IBSI family |"
echo "|---|---|---|---|"
for preset in ibsi-ct-a ibsi-ct-b ibsi-ct-c ibsi-ct-d ibsi-ct-e; do
  read -r py npy < <($venv/bin/python bench/ibsi_ct_pyradiomics.py $data/image.nii.gz $data/mask.nii.gz $preset)
  read -r same nsame < <(iso $preset pyradiomics)
  read -r all nall < <(iso $preset all)
  ratio() { python3 -c "print(f'{$py / $1:.1f}x faster')"; }
  echo "| $preset | $py s ($npy features) | $same s ($nsame values), **$(ratio $same)** | $all s ($nall values), **$(ratio $all)** |"
done
