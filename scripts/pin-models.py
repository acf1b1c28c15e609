#!/usr/bin/env python3
"""Re-pin model files: rewrite the sha256 of every [[models]] entry in the given
plugin.toml files (default: every plugins/*/plugin.toml) to the file's current hash.

A developer tool for after retraining; the host refuses any model whose hash differs
from its pin, so run this only on files you mean to ship, and commit both together."""
import glob
import hashlib
import os
import re
import sys

manifests = sys.argv[1:] or sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "plugins", "*", "plugin.toml")))
for manifest in manifests:
    text = open(manifest).read()
    folder = os.path.dirname(manifest)

    def repin(m):
        path = os.path.normpath(os.path.join(folder, m.group(2)))
        digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
        if digest != m.group(4):
            print(f"{manifest}: {m.group(2)} -> {digest}")
        return m.group(1) + m.group(2) + m.group(3) + digest

    new = re.sub(r'(path = ")([^"]+)("\nsha256 = ")([0-9a-f]{64})', repin, text)
    if new != text:
        open(manifest, "w").write(new)
