#!/usr/bin/env bash
# Every algorithm against its fastest peer, side by side in one run, one table (a
# benchmark, not a test). Installs the peers (pinned) in bench/.venv and
# bench/.venv-torch, builds Isotherm in release, writes each row's input once, times
# Isotherm and the peers on it, and prints the table (bench/table.py) that the README
# shows. The rows file is bench/out-all/rows.jsonl; each tool's own output is above it.
#   bash bench/all.sh            # about 17 minutes on 2 cores after the first build
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out-all
mkdir -p $out
export BENCH_ROWS=$PWD/$out/rows.jsonl
: > "$BENCH_ROWS"
emit() { # ROW TOOL SECONDS NOTE [INPUT] [UNIT] [TARGET]: one line through bench/rows.py
  python3 -c 'import sys; sys.path.insert(0, "bench"); from rows import emit; a = sys.argv[1:] + [""] * 7; emit(a[0], a[1], float(a[2]), a[3], a[4], a[5], a[6])' "$@"
}

echo "== peers (pinned, in bench/.venv and bench/.venv-torch)"
pins="numpy==2.4.6 scipy==1.17.1 scikit-image==0.26.0 SimpleITK==2.5.7 nibabel==5.4.2 itk-elastix==0.25.4"
venv=bench/.venv
if [ ! -x $venv/bin/python ] || [ "$(cat $venv/pins 2>/dev/null)" != "$pins pyradiomics==3.0.1" ]; then
  python3 -m venv $venv
  $venv/bin/pip install -q $pins setuptools wheel versioneer
  # 3.0.1: the 3.1.0 source release reports itself as 3.0.1a1, which pip refuses.
  $venv/bin/pip install -q --no-build-isolation pyradiomics==3.0.1
  echo "$pins pyradiomics==3.0.1" > $venv/pins
fi
torch_pins="torch==2.15.0 safetensors==0.8.0 numpy==2.4.6"
tvenv=bench/.venv-torch
if [ ! -x $tvenv/bin/python ] || [ "$(cat $tvenv/pins 2>/dev/null)" != "$torch_pins" ]; then
  python3 -m venv $tvenv
  $tvenv/bin/pip install -q $torch_pins
  echo "$torch_pins" > $tvenv/pins
fi

echo "== Isotherm (release: headless host, plugins, plugin tools, bench harness)"
cargo build --release --quiet --no-default-features -p isotherm-host -p isotherm-template -p isotherm-segmentation \
  -p isotherm-radiomics -p isotherm-margin -p isotherm-planning -p isotherm-segmentation-core -p isotherm-bench
R=target/release
iso=$R/isotherm

echo "== exact EDT"
$R/isotherm-margin bench-edt --out $out/edt
$venv/bin/python bench/edt_peers.py $out/edt

for row in mc components nifti; do
  echo "== $row"
  $R/isotherm-bench $row --out $out/$row > $out/$row.log
  $venv/bin/python bench/peers.py $row $out/$row "$BENCH_ROWS"
done

echo "== registration"
$R/isotherm-margin bench-registration --size medium --seed 5 --out $out/registration
$venv/bin/python bench/registration_peers.py $out/registration

echo "== radiomics"
case=$out/radiomics-case
[ -f $case/pre_ct.nii.gz ] || $iso phantom --seed 5 --size medium --tumours 1 --radius 20,20 --no-field --out $case > /dev/null
$R/isotherm-radiomics bench --ct $case/pre_ct.nii.gz --mask $case/pre_tumours.nii.gz --repeat 5 | tee $out/radiomics.log
best=$(grep -o '[0-9.]* s wall' $out/radiomics.log | awk 'NR == 1 || $1 < m { m = $1 } END { print m }')
emit radiomics Isotherm "$best" "(every IBSI family and aggregation, 482 values)" "256x256x128 CT, one 40 mm lesion, bin width 25 HU, re-segmentation [-500, 400] HU; both images read"
for run in 1 2 3; do
  $venv/bin/python bench/pyradiomics_run.py $case/pre_ct.nii.gz $case/pre_tumours.nii.gz rows
done

echo "== segmentation network"
$R/isotherm-segmentation bench --size full --device cpu --out $out/segmentation
$tvenv/bin/python bench/segmentation_torch.py assets/models/segmentation $out/segmentation

echo "== plugin load (each plugin in a fresh process, best of 3: manifest, model hashes, dlopen, ABI check, describe)"
$R/isotherm-bench plugin-load --out $out/plugin-load > $out/plugin-load.log
python3 - "$out/plugin-load/case.json" <<'PY'
import json, sys
sys.path.insert(0, "bench")
from rows import emit
for p in json.load(open(sys.argv[1]))["plugins"]:
    emit(f"plugin load: {p['id']}", "Isotherm", p["seconds"], "", f"build-tree plugin, {p['models']} pinned model file(s) hashed", target="< 20 ms")
    print(f"  {p['id']}: {p['seconds'] * 1000:.1f} ms")
PY

echo "== the headless demo pipeline (segmentation, radiomics, margin from the two CTs; release)"
demo=assets/cases/demo
start=$EPOCHREALTIME
$iso run segmentation -i ct=$demo/pre_ct.nii.gz -p scan=pre-ablation -o $out/demo/segmentation > /dev/null
$iso run radiomics -i ct=$demo/pre_ct.nii.gz -i mask=$out/demo/segmentation/lesions.nii.gz -o $out/demo/radiomics > /dev/null
$iso run margin -i pre=$demo/pre_ct.nii.gz -i post=$demo/post_ct.nii.gz -o $out/demo/margin > /dev/null
seconds=$(python3 -c "print(round($EPOCHREALTIME - $start, 3))")
emit "demo pipeline" Isotherm "$seconds" "(three isotherm runs, process start to files written)" "bundled demo case 192x160x64"
echo "  $seconds s"

echo "== peak memory on a 512 x 512 x 300 CT"
thin=$out/thin
[ -f $thin/pre_ct.nii.gz ] || $iso phantom --seed 4 --size thin --no-field --out $thin > /dev/null
peak=0
measure() { # NAME ARGS...: the run's peak resident set, MB
  local name=$1; shift
  /usr/bin/time -f '%M %e' -o $out/time.txt "$iso" run "$@" > $out/$name-run.log 2>&1
  read -r kb secs < $out/time.txt
  local mb=$((kb / 1024))  # MiB
  echo "  $name: $mb MiB peak, $secs s"
  emit "peak memory: $name" Isotherm "$mb" "($secs s)" "512x512x300 int16 CT at 0.8 x 0.8 x 1 mm (phantom seed 4)" MiB "<= 1024 MiB (1 GiB)"
  [ $mb -gt $peak ] && peak=$mb || true
}
measure segmentation segmentation -i ct=$thin/pre_ct.nii.gz -p scan=pre-ablation -o $out/thin-segmentation
measure radiomics radiomics -i ct=$thin/pre_ct.nii.gz -i mask=$out/thin-segmentation/lesions.nii.gz -o $out/thin-radiomics
measure margin margin -i pre=$thin/pre_ct.nii.gz -i post=$thin/post_ct.nii.gz -o $out/thin-margin
echo "  the pipeline's peak: $peak MiB"

echo
echo "== Isotherm against its fastest peer ($(nproc) cores, $(date -u +%Y-%m-%d))"
python3 bench/table.py "$BENCH_ROWS" | tee $out/table.md
