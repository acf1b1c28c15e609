#!/usr/bin/env bash
# The DICOM tests' oracle: pinned pydicom test files (pydicom, pydicom-data) and
# SimpleITK 2.5.7, highdicom 0.28.2 and dcmqi 1.5.7 (its tid1500reader and
# segimage2itkimage read our SR and SEG) (and, for the NRRD tests, pynrrd 1.1.3 and
# slicerio 1.4.0 with its shipped Slicer files) from PyPI, in a venv under target/, then
# SimpleITK's reading of those files written as NIfTI into OUT_DIR. Installs once; later
# runs only read. `dicom-oracle.sh --python` prints the venv's python (for highdicom).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: dicom-oracle.sh OUT_DIR | --python}
venv=target/dicom-oracle-venv
if [ ! -f "$venv/.installed-v4" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    pydicom==3.0.2 pydicom-data==1.0.0 SimpleITK==2.5.7 numpy==2.3.5 highdicom==0.28.2 dcmqi==1.5.7 pynrrd==1.1.3 slicerio==1.4.0
  touch "$venv/.installed-v4"
fi
if [ "$out" = --python ]; then echo "$PWD/$venv/bin/python"; exit 0; fi
"$venv/bin/python" dicom/tests/oracle.py "$out"
