#!/usr/bin/env bash
# The main job on the bundled demo case, headless: build, list plugins, segment the demo
# CT (liver, tumours), measure the lesions' radiomics and prognosis, and the minimal
# ablative margin of the treated tumour; show what each wrote.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
bin=target/debug/isotherm
case=assets/cases/demo
out=${1:-out/demo}
"$bin" plugins list
echo
# Deep-learning segmentation (Candle U-Net, CPU): liver, tumours, lesion table, surfaces.
"$bin" run segmentation --input ct=$case/pre_ct.nii.gz --param scan=pre-ablation --out "$out/segmentation"
echo "Lesions ($out/segmentation/lesion-table-lesions.csv):"
cat "$out/segmentation/lesion-table-lesions.csv"
echo
# Radiomics features of the segmented lesions and the (synthetic-cohort) prognosis model.
"$bin" run radiomics --input ct=$case/pre_ct.nii.gz --input mask=$out/segmentation/lesions.nii.gz \
  --param age=68 --param afp=150 --param child_pugh=A --param bclc=A --out "$out/radiomics"
echo "Prognosis (synthetic-cohort demo model):"
grep -A2 '"key": "\(risk_score\|risk_group\|survival_[0-9]*m\)"' "$out/radiomics/report.json" | grep -E '"(key|value)"' | paste - - | sed -E 's/ +/ /g; s/"key": //; s/"value": //'
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
