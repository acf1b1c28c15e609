#!/usr/bin/env bash
# The educator's live ablation, measured (a benchmark, not a test): zone updates per
# second while the antenna's tip is dragged, headless through the planning plugin's
# session (what bounds the viewer on a fast display), at 0, 5 and 10 minutes of a
# 100 W ablation on the demo case, on the drag grid (4 mm) and on 3 mm; then the viewer
# itself under Xvfb (software Vulkan unless a GPU is there): frame time while playing
# 10 minutes and while dragging.
#   bash bench/educator.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out-educator
mkdir -p $out
cargo build --quiet -p isotherm-host -p isotherm-planning
demo=assets/cases/demo
inputs="-i ct=$demo/pre_ct.nii.gz -i labels=$demo/pre_labels.nii.gz -i tumour=$demo/pre_tumours.nii.gz"
for grid in 4 3; do
  for minutes in 0 5 10; do
    python3 - "$grid" "$minutes" > $out/drag.toml <<'PY'
import json, sys
grid, minutes = sys.argv[1], float(sys.argv[2])
t = json.load(open("assets/cases/demo/truth.json"))["needle_pre"]
f = lambda p: ",".join(f"{v:.2f}" for v in p)
print(f'[[step]]\nset = {{ tip = "{f(t["tip"])}", entry = "{f(t["entry"])}", grid = {grid} }}\nadvance = {minutes * 60}')
for i in range(1, 41):
    p = [t["tip"][0] + 0.25 * i, t["tip"][1], t["tip"][2]]
    print(f'[[step]]\nset = {{ tip = "{f(p)}" }}\nadvance = 0')
PY
    target/debug/isotherm session planning $inputs -p power=100 -p time=10 --script $out/drag.toml -o $out/drag > /dev/null
    python3 -c "
import json; s = [x['seconds'] for x in json.load(open('$out/drag/session.json'))['steps'][1:]]
print(f'drag, {$grid} mm grid, at {$minutes:.0f} min: {len(s) / sum(s):.1f} zone updates/s ({1000 * sum(s) / len(s):.1f} ms each)')"
  done
done
if command -v xvfb-run > /dev/null; then
  python3 - > $out/viewer.toml <<'PY'
import json
t = json.load(open("assets/cases/demo/truth.json"))["needle_pre"]
v = lambda p: "[" + ", ".join(f"{x:.2f}" for x in p) + "]"
print(f'[[step]]\nsimulate = true\n[[step]]\ntip = {v(t["tip"])}\nentry = {v(t["entry"])}\nset = {{ power = 100, time = 10 }}\nspeed = 60')
print('[[step]]\nplay_to = 10.0\n[[step]]\ndrag = { end = "tip", by = [10.0, 0.0, 0.0], frames = 60 }')
PY
  export XDG_RUNTIME_DIR=$PWD/$out/xdg && mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
  xvfb-run -a -s "-screen 0 1280x800x24" target/debug/isotherm view $demo/pre_ct.nii.gz $demo/pre_labels.nii.gz $demo/pre_tumours.nii.gz \
    --script $out/viewer.toml --size 1280x800 2> $out/viewer.log | grep -E "^(play|drag):"
fi
