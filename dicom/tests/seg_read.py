"""highdicom's reading of a DICOM SEG: per segment, its label, codes, voxel count and the
LPS world position of every voxel (or only their mean, for big ones), as JSON.

    python seg_read.py SEG.dcm OUT.json
"""
import json
import sys

import highdicom as hd
import numpy as np

seg = hd.seg.segread(sys.argv[1])
out = {"segments": [], "highdicom": hd.__version__}
volume = seg.get_volume(combine_segments=False)
array = volume.array  # (k, rows, cols, segments), frames sorted by highdicom
affine = volume.affine  # voxel (k, row, col) -> LPS
for s, number in enumerate(seg.segment_numbers):
    desc = seg.get_segment_description(number)
    idx = np.argwhere(array[..., s] > 0)
    world = (affine @ np.c_[idx, np.ones(len(idx))].T).T[:, :3] if len(idx) else np.zeros((0, 3))
    entry = {
        "number": int(number),
        "label": desc.segment_label,
        "category": desc.segmented_property_category.value,
        "type": desc.segmented_property_type.value,
        "type_scheme": desc.segmented_property_type.scheme_designator,
        "count": int(len(idx)),
        "mean_lps": world.mean(axis=0).tolist() if len(idx) else None,
    }
    if len(idx) <= 20000:
        entry["voxels_lps"] = np.round(world, 3).tolist()
    out["segments"].append(entry)
json.dump(out, open(sys.argv[2], "w"))
