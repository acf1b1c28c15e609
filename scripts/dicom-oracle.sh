#!/usr/bin/env bash
# The DICOM tests' oracle: pinned pydicom test files (pydicom, pydicom-data) and
# SimpleITK 2.5.7 from PyPI, in a venv under target/, then SimpleITK's reading of those
# files written as NIfTI into OUT_DIR. Installs once; later runs only read.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: dicom-oracle.sh OUT_DIR}
venv=target/dicom-oracle-venv
if [ ! -f "$venv/.installed-v1" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    pydicom==3.0.2 pydicom-data==1.0.0 SimpleITK==2.5.7 numpy==2.3.5
  touch "$venv/.installed-v1"
fi
"$venv/bin/python" dicom/tests/oracle.py "$out"
