"""The SEG reader's oracle: dcmqi 1.5.7's segimage2itkimage reading of pydicom-data's
liver.dcm (a dcmqi-written SEG with retired SNOMED RT codes) as NRRD, pydicom's published
SNOMED RT -> SNOMED CT mapping for the codes we map, and two SEGs highdicom 0.28.2 writes
on pydicom's CT_small.dcm: overlapping segments, and a FRACTIONAL one.

    python seg_in.py SRT_CODES_COMMA_SEPARATED OUT_DIR
"""
import json
import os
import subprocess
import sys

import highdicom as hd
import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.sr._snomed_dict import mapping
from pydicom.sr.codedict import codes

import data_store

out = sys.argv[2]
os.makedirs(out, exist_ok=True)
liver = os.path.join(os.path.dirname(data_store.__file__), "data", "liver.dcm")
tool = os.path.join(os.path.dirname(sys.executable), "segimage2itkimage")
os.makedirs(os.path.join(out, "liver"), exist_ok=True)
r = subprocess.run([tool, "--inputDICOM", liver, "--outputDirectory", os.path.join(out, "liver"), "--outputType", "nrrd"], capture_output=True, text=True)
if r.returncode != 0:
    sys.exit(f"segimage2itkimage failed: {r.stdout}{r.stderr}")

ct = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
def segment(n, label):
    return hd.seg.SegmentDescription(
        segment_number=n, segment_label=label,
        segmented_property_category=hd.sr.CodedConcept("49755003", "SCT", "Morphologically Altered Structure"),
        segmented_property_type=codes.SCT.Neoplasm, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL)
masks = np.zeros((1, ct.Rows, ct.Columns, 2), bool)
masks[0, 10:30, 10:30, 0] = True
masks[0, 25:40, 25:40, 1] = True  # 5 x 5 pixels shared with segment 1
hd.seg.Segmentation([ct], masks, hd.seg.SegmentationTypeValues.BINARY, [segment(1, "a"), segment(2, "b")], hd.UID(), 2, hd.UID(), 1,
                    "test", "1", "1", "seg").save_as(os.path.join(out, "overlap.dcm"))
fraction = np.zeros((1, ct.Rows, ct.Columns), np.float32)
fraction[0, 5:15, 5:15] = 0.75
fraction[0, 5:15, 15:20] = 0.25
hd.seg.Segmentation([ct], fraction, hd.seg.SegmentationTypeValues.FRACTIONAL, [segment(1, "soft")], hd.UID(), 3, hd.UID(), 1,
                    "test", "1", "1", "seg", max_fractional_value=255).save_as(os.path.join(out, "fractional.dcm"))
json.dump({
    "liver": liver,
    "liver_nrrd": os.path.join(out, "liver", "1.nrrd"),
    "ct_small": get_testdata_file("CT_small.dcm"),
    "liver_1frame": get_testdata_file("liver_1frame.dcm"),
    "liver_expb_1frame": get_testdata_file("liver_expb_1frame.dcm"),
    "srt": {c: mapping["SRT"].get(c) for c in sys.argv[1].split(",")},
}, open(os.path.join(out, "seg_in.json"), "w"), indent=1)
