#!/usr/bin/env bash
# Frame-time bench of the viewer on a GPU machine without a display (the `device`
# tool): the 3D view renders offscreen, the slice views reslice on the CPU.
# Expects, carried beside the checkout: .gl/*.deb (Vulkan/GL loaders) and
# .gpu/{isotherm.gz,libisotherm_template.so} (a stripped build). Writes to $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -e "$icd" ] && export VK_DRIVER_FILES=$icd
nvidia-smi -L
gunzip -c .gpu/isotherm.gz > /tmp/isotherm && chmod +x /tmp/isotherm
export ISOTHERM_LIBRARY_PATH=$PWD/.gpu XDG_RUNTIME_DIR=/tmp
iso="/tmp/isotherm --plugin-dir plugins/template"
demo=assets/cases/demo
$iso plugins list
$iso view $demo/pre_ct.nii.gz $demo/pre_labels.nii.gz --run template --offscreen --size 1280x800 --bench-frames 200 2>&1 | grep -E "frame time|AdapterInfo|rror" | tee "$OUT/bench-demo.txt"
$iso view $demo/pre_ct.nii.gz $demo/pre_labels.nii.gz --run template --offscreen --size 1280x800 --screenshot "$OUT/gpu-3d.png" 2>&1 | grep -E "Screenshot|rror"
$iso phantom --seed 2 --size full --no-field --out /tmp/full | head -1
$iso view /tmp/full/pre_ct.nii.gz /tmp/full/pre_labels.nii.gz --run template --offscreen --size 1280x800 --bench-frames 200 2>&1 | grep -E "frame time|rror" | tee "$OUT/bench-full.txt"
