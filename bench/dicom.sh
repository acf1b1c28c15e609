#!/usr/bin/env bash
# Reading a 512 x 512 x 300 CT series, uncompressed and JPEG 2000 lossless, against
# SimpleITK's ImageSeriesReader and pydicom + NumPy stacking, side by side in one run (a
# benchmark, not a test). Peers pinned in bench/.venv-dicom.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out-dicom
mkdir -p $out
venv=bench/.venv-dicom
pins="numpy==2.4.6 SimpleITK==2.5.7 pydicom==3.0.2 pylibjpeg==2.1.0 pylibjpeg-openjpeg==2.6.0"
if [ ! -x $venv/bin/python ] || [ "$(cat $venv/pins 2>/dev/null)" != "$pins" ]; then
  python3 -m venv $venv
  $venv/bin/pip install -q $pins
  echo "$pins" > $venv/pins
fi
cargo build --release --quiet -p isotherm-bench
target/release/isotherm-bench dicom --out $out --prepare
$venv/bin/python bench/dicom_peers.py prepare $out
target/release/isotherm-bench dicom --out $out > $out/isotherm.log
: > $out/rows.jsonl
$venv/bin/python bench/dicom_peers.py time $out $PWD/$out/rows.jsonl
python3 bench/table.py $out/rows.jsonl
