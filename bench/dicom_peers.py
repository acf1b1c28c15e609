"""The DICOM series read against SimpleITK's ImageSeriesReader and pydicom + NumPy
stacking (sorted by position along the normal, rescale applied), on the same folders.

    python bench/dicom_peers.py prepare OUT       # the JPEG 2000 lossless copy of OUT/series
    python bench/dicom_peers.py time OUT ROWS     # Isotherm's rows (OUT/case.json) and the peers'
"""
import glob
import json
import os
import sys

import numpy as np
import pydicom
import SimpleITK as sitk

sys.path.insert(0, os.path.dirname(__file__))
from rows import best_of, emit  # noqa: E402


def prepare(out):
    src, dst = os.path.join(out, "series"), os.path.join(out, "series-j2k")
    files = sorted(glob.glob(os.path.join(src, "*.dcm")))
    if len(glob.glob(os.path.join(dst, "*.dcm"))) == len(files):
        return
    os.makedirs(dst, exist_ok=True)
    for f in files:
        ds = pydicom.dcmread(f)
        ds.compress(pydicom.uid.JPEG2000Lossless)
        ds.save_as(os.path.join(dst, os.path.basename(f)))


def sitk_read(folder):
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(folder))
    return sitk.GetArrayFromImage(reader.Execute())


def pydicom_read(folder):
    slices = [pydicom.dcmread(f) for f in glob.glob(os.path.join(folder, "*.dcm"))]
    normal = np.cross(*np.array(slices[0].ImageOrientationPatient, float).reshape(2, 3))
    slices.sort(key=lambda s: float(np.dot(normal, np.array(s.ImagePositionPatient, float))))
    return np.stack([s.pixel_array * float(s.RescaleSlope) + float(s.RescaleIntercept) for s in slices])


def time(out, rows):
    case = json.load(open(os.path.join(out, "case.json")))
    os.environ["BENCH_ROWS"] = rows
    for r in case["rows"]:
        row = f"DICOM series read, {r['what']}"
        d = r["dims"]
        emit(row, "Isotherm", r["seconds"], "", f"{d[0]}x{d[1]}x{d[2]} int16 CT, {r['files']} files, sorted and rescaled into one volume")
        t, a = best_of(3, lambda: sitk_read(r["folder"]))
        emit(row, "SimpleITK", t, f"(ImageSeriesReader, {a.shape}; SimpleITK {sitk.Version_VersionString()})")
        t, a = best_of(3, lambda: pydicom_read(r["folder"]))
        emit(row, "pydicom + NumPy", t, f"(dcmread, sort by position, pixel_array, stack; pydicom {pydicom.__version__})")


if __name__ == "__main__":
    {"prepare": lambda: prepare(sys.argv[2]), "time": lambda: time(sys.argv[2], sys.argv[3])}[sys.argv[1]]()
