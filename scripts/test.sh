#!/usr/bin/env bash
# Every test of the workspace. The viewer's screenshot test needs a virtual display and
# Mesa's software Vulkan (lavapipe): they are installed first when missing (Debian or
# Ubuntu; as root, or through sudo). `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v xvfb-run >/dev/null || ! ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1; then
  echo "Installing xvfb and Mesa's software Vulkan for the viewer test..."
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends xvfb xauth mesa-vulkan-drivers libvulkan1
fi
cargo --version
cargo test --workspace "$@"
