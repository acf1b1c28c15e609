#!/usr/bin/env bash
# Every test of the workspace. The viewer's screenshot test needs a virtual display and
# Mesa's software Vulkan (lavapipe), the DICOM tests Debian's dciodvfy (dicom3tools): they
# are installed first when missing (Debian or Ubuntu; as root, or through sudo). The DICOM
# tests install their Python oracles (pydicom, SimpleITK, highdicom; pinned, from PyPI)
# into target/ themselves (scripts/dicom-oracle.sh). `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v xvfb-run >/dev/null || ! ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 || ! command -v dciodvfy >/dev/null; then
  echo "Installing xvfb and Mesa's software Vulkan for the viewer test, and dicom3tools (dciodvfy) for the DICOM tests..."
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends xvfb xauth mesa-vulkan-drivers libvulkan1 dicom3tools
fi
cargo --version
cargo test --workspace "$@"
