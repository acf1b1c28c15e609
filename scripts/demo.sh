#!/usr/bin/env bash
# The main job on the bundled demo case, headless: list the plugins, segment the demo CT
# (liver, tumours), measure the lesions' radiomics and prognosis, then the headline
# workflow: the minimal ablative margin from the two CT scans alone (segment both,
# register the post scan onto the pre scan, measure), against the generator's truth;
# then the same ablation planned before the fact: the antenna where the generator put
# it, the zone from the bioheat simulation, the predicted margin; last, the demo CT as a
# DICOM series, segmented from its folder like the NIfTI.
#
# It builds only what it runs: the host without the viewer, and the five plugins.
# (`cargo build` builds the viewer too; `bash scripts/test.sh` runs the tests.)
set -euo pipefail
cd "$(dirname "$0")/.."
echo "Building the headless host and the plugins (a first build takes a few minutes)..."
cargo build --quiet --no-default-features \
  -p isotherm-host -p isotherm-template -p isotherm-segmentation -p isotherm-radiomics -p isotherm-margin -p isotherm-planning
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
# The headline: the minimal ablative margin from the pre- and post-ablation CTs alone.
"$bin" run margin --input pre=$case/pre_ct.nii.gz --input post=$case/post_ct.nii.gz --out "$out/margin"
echo "Margins ($out/margin/margins-margins.csv):"
cat "$out/margin/margins-margins.csv"
echo
# The segmented tumours are numbered by size, not as the generator numbered them: the
# treated one is the row whose volume is nearest the truth's treated tumour.
treated=$(grep -o '"treated_tumour": [0-9]*' $case/truth.json | grep -o '[0-9]*$')
truth_mam=$(grep -o '"minimal_margin_mm": [-0-9.]*' $case/truth.json | grep -o '[-0-9.]*$')
truth_ml=$(tr -d ' \n' < $case/truth.json | grep -o '"treated":true,"volume_ml":[0-9.]*' | grep -o '[0-9.]*$')
row=$(sed 's/"0 mm, not covered"/not covered/' "$out/margin/margins-margins.csv" | awk -F, -v ml="$truth_ml" '
  NR > 1 { d = $8 - ml; if (d < 0) d = -d; if (best == "" || d < best) { best = d; row = $1 } } END { print row }')
sed 's/"0 mm, not covered"/not covered/' "$out/margin/margins-margins.csv" | awk -F, -v row="$row" -v ml="$truth_ml" -v mam="$truth_mam" -v n="$treated" '
  NR > 1 && $1 == row {
    printf "Treated tumour (generator tumour %s, %.2f ml): segmented tumour %s (%.2f ml), MAM %.2f mm from the two CTs; truth %.2f mm (fine grid), difference %+.2f mm\n", n, ml, row, $8, $3, mam, $3 - mam
  }'
echo "  its margin-coloured surface: $out/margin/tumour-$row.ply (red < 0 mm, amber 0-5 mm, green >= 5 mm)"
echo "  the registered post CT on the pre grid: $out/margin/registered-post-ct.nii.gz"
echo "  the ablation zone carried into the pre frame: $out/margin/ablation-zone-pre.nii.gz"
echo "  see them: cargo build && target/debug/isotherm view $case/pre_ct.nii.gz $out/margin/ablation-zone-pre.nii.gz $out/margin/tumour-$row.ply"
echo
# Planning: the generator's antenna (tip, entry) on the pre-ablation CT, Emprint at 100 W
# for 5 min, in the structures the generator labelled (liver, vessels, tumours).
tip=$(tr -d ' \n' < $case/truth.json | grep -o '"needle_pre":{[^}]*}' | grep -o '"tip":\[[^]]*\]' | grep -o '[-0-9.,e]*' | tail -1)
entry=$(tr -d ' \n' < $case/truth.json | grep -o '"needle_pre":{[^}]*}' | grep -o '"entry":\[[^]]*\]' | grep -o '[-0-9.,e]*' | tail -1)
"$bin" run planning --input ct=$case/pre_ct.nii.gz --input labels=$case/pre_labels.nii.gz \
  --param antenna=emprint --param power=100 --param time=5 --param tip=$tip --param entry=$entry --out "$out/planning"
grep -o '"text": "[^"]*"' "$out/planning/report.json" | head -1 | sed 's/"text": //; s/"//g'
echo "  (the generator's own zone for this treatment, a drawn ellipsoid, not a simulation, gives a MAM of $truth_mam mm)"
echo "Damage models ($out/planning/planning-damage-models.csv):"
cat "$out/planning/planning-damage-models.csv"
echo "  the predicted zone: $out/planning/predicted-zone.nii.gz, temperatures: $out/planning/temperature.nii.gz"
echo
# The same demo CT as a DICOM series (what a scanner or PACS gives): written by the
# generator, listed, segmented from the folder; the lesion table must equal the NIfTI run's.
"$bin" phantom --seed 1 --format dicom --out "$out/dicom-case" > /dev/null
"$bin" dicom list "$out/dicom-case" | grep -E '^[0-9]+\. '
"$bin" run segmentation --input ct="$out/dicom-case/pre_ct" --param scan=pre-ablation --output-format dicom --out "$out/segmentation-dicom" > /dev/null
if cmp -s "$out/segmentation/lesion-table-lesions.csv" "$out/segmentation-dicom/lesion-table-lesions.csv"; then
  echo "Segmentation from the DICOM series: the same lesion table as from NIfTI ($out/segmentation-dicom)"
else
  echo "error: the DICOM series segmented differently from its NIfTI twin" >&2
  exit 1
fi
echo "  back as DICOM for the PACS: $(cd "$out/segmentation-dicom" && ls *.seg.dcm *.sr.dcm | tr '\n' ' ')"
echo "  (SEG: the label maps of that series; SR, TID 1500: the lesion table over the lesions' segments)"
