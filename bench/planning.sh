#!/usr/bin/env bash
# Planning speed side by side (a benchmark, not a test): a 10-minute, 100 W ablation on
# a 128^3 liver block at 1 mm with Isotherm's solver (SAR updates, vaporisation, four
# damage models) against a plain NumPy explicit solver doing less (fixed source) on the
# same grid, step and step count. Pinned NumPy in bench/.venv (shared with bench/all.sh).
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
cargo build --release --quiet -p isotherm-planning-core
echo "== bioheat: 10 min at 100 W, 128^3 at 1 mm"
target/release/isotherm-planning bench assets/antennas/emprint.toml --size 128 --minutes 10 --power 100 --out $out/bioheat > $out/bioheat.log
tail -1 $out/bioheat.log
$venv/bin/python bench/planning_peers.py $out/bioheat "$BENCH_ROWS"
python3 bench/table.py "$BENCH_ROWS"
