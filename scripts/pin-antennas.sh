#!/usr/bin/env bash
# Pins every antenna profile's current SHA-256 in the planning plugin's manifest (run it
# after `isotherm planning calibrate --write` or any edit of assets/antennas/*.toml; the
# host refuses a profile whose bytes differ from the pin).
set -euo pipefail
cd "$(dirname "$0")/.."
manifest=plugins/planning/plugin.toml
for profile in assets/antennas/*.toml; do
  sum=$(sha256sum "$profile" | cut -d' ' -f1)
  name=$(basename "$profile")
  # The sha256 line right after the model's path line.
  awk -v name="$name" -v sum="$sum" '
    index($0, "path = ") == 1 && index($0, "/" name "\"") { pin = 1; print; next }
    pin && index($0, "sha256 = ") == 1 { print "sha256 = \"" sum "\""; pin = 0; next }
    { print }' "$manifest" > "$manifest.tmp" && mv "$manifest.tmp" "$manifest"
  grep -q "$sum" "$manifest" || { echo "error: $manifest does not list $name" >&2; exit 1; }
done
echo "pinned: $(ls assets/antennas/*.toml | xargs -n1 basename | tr '\n' ' ')"
