#!/usr/bin/env bash
# The main job on the bundled demo case, headless: build, list plugins, run the
# template plugin on the demo CT inside its liver mask, show what it wrote.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
bin=target/debug/isotherm
case=assets/cases/demo
out=${1:-out/demo}
"$bin" plugins list
"$bin" run template \
  --input ct=$case/pre_ct.nii.gz \
  --input mask=$case/pre_labels.nii.gz \
  --param lower=20 --param upper=90 \
  --out "$out"
echo
echo "Report ($out/report.json):"
grep -E '"(key|value|unit)"' "$out/report.json" | paste - - - | sed -E 's/ +/ /g'
echo
# The minimal ablative margin of the demo's treated tumour, against the generator's truth.
treated=$(grep -o '"treated_tumour": [0-9]*' $case/truth.json | grep -o '[0-9]*$')
"$bin" run margin \
  --input tumour=$case/pre_tumours.nii.gz \
  --input zone=$case/ablation_zone_pre.nii.gz \
  --param tumour_label=$treated \
  --out "$out/margin"
cat "$out/margin/margins-margins.csv"
echo "truth (generator, fine grid): $(grep -o '"minimal_margin_mm": [-0-9.]*' $case/truth.json)"
