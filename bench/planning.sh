#!/usr/bin/env bash
# Planning speed side by side (a benchmark, not a test): a 10-minute, 100 W ablation on
# a 128^3 liver block at 1 mm with Isotherm's solver (SAR updates, vaporisation, four
# damage models) against a plain NumPy explicit solver doing less (fixed source) on the
# same grid, step and step count; the trajectory search over 10,000 skin entries; a
# whole recommendation on the demo case through the host. Pinned NumPy in bench/.venv
# (shared with bench/all.sh).
#   bash bench/planning.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out-planning
mkdir -p $out
export BENCH_ROWS=$PWD/$out/rows.jsonl
: > "$BENCH_ROWS"
venv=bench/.venv
if [ ! -x $venv/bin/python ]; then
  python3 -m venv $venv
  $venv/bin/pip install -q numpy==2.4.6
fi
cargo build --release --quiet -p isotherm-planning-core -p isotherm-planning
cargo build --release --quiet --no-default-features -p isotherm-host
echo "== bioheat: 10 min at 100 W, 128^3 at 1 mm"
target/release/isotherm-planning bench assets/antennas/emprint.toml --size 128 --minutes 10 --power 100 --out $out/bioheat > $out/bioheat.log
tail -1 $out/bioheat.log
$venv/bin/python bench/planning_peers.py $out/bioheat "$BENCH_ROWS"
emit() { # ROW TOOL SECONDS NOTE [INPUT] [UNIT] [TARGET]
  python3 -c 'import sys; sys.path.insert(0, "bench"); from rows import emit; a = sys.argv[1:] + [""] * 7; emit(a[0], a[1], float(a[2]), a[3], a[4], a[5], a[6])' "$@"
}
echo "== trajectory search: 10,000 skin entries, Pareto front"
line=$(target/release/isotherm-planning bench-trajectory assets/antennas/emprint.toml --entries 10000)
echo "$line"
secs=$(echo "$line" | grep -o 'search: [0-9.]*' | grep -o '[0-9.]*$')
emit trajectory Isotherm "$secs" "" "10,000 skin entries of a demo-size phantom to its treated tumour, Pareto front" s "<= 1 s"
echo "== recommend on the demo case"
start=$(date +%s.%N)
target/release/isotherm run planning --input ct=assets/cases/demo/pre_ct.nii.gz --input labels=assets/cases/demo/pre_labels.nii.gz \
  --input tumour=assets/cases/demo/pre_tumours.nii.gz --param mode=recommend \
  --param target_tumour=$(grep -o '"treated_tumour": [0-9]*' assets/cases/demo/truth.json | grep -o '[0-9]*$') --out $out/recommend > $out/recommend.log
secs=$(python3 -c "import time; print(time.time() - $start)")
echo "  $secs s"
emit recommend Isotherm "$secs" "" "isotherm run planning --param mode=recommend, demo case, treated tumour (host start, reading, writing included)" s "<= 30 s"
python3 bench/table.py "$BENCH_ROWS"
