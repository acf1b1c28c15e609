"""pynrrd's (and for segmentations slicerio's) reading of NRRD files, as JSON, for the
Rust tests to compare with. Also prints where slicerio's shipped files are.

    python nrrd_oracle.py --data                # slicerio's data folder
    python nrrd_oracle.py FILE OUT.json
"""
import json
import os
import sys

import nrrd
import numpy as np
import slicerio

if sys.argv[1] == "--data":
    print(os.path.join(os.path.dirname(slicerio.__file__), "data"))
    sys.exit(0)
path, out = sys.argv[1], sys.argv[2]
data, header = nrrd.read(path)  # index order F: data[i, j, k] (the layer axis first for 4D)
spatial = data if data.ndim == 3 else np.moveaxis(data, 0, -1)  # (i, j, k[, layer])


def direction(d):
    d = np.asarray(d, float)
    return None if np.isnan(d).any() else d.tolist()


result = {
    "sizes": [int(s) for s in header["sizes"]],
    "space": header.get("space"),
    "space_directions": [direction(d) for d in header["space directions"]],
    "space_origin": list(map(float, header["space origin"])),
    "dtype": str(data.dtype),
    "sum": float(np.asarray(data, float).sum()),
}
# 64 voxels spread through the grid: i, j, k, then the value (one per layer).
shape = spatial.shape[:3]
picks = []
for n in range(64):
    i, j, k = (n * 37) % shape[0], (n * 53) % shape[1], (n * 11) % shape[2]
    picks.append([i, j, k] + np.atleast_1d(spatial[i, j, k]).astype(float).tolist())
result["voxels"] = picks
if np.issubdtype(data.dtype, np.integer):
    layers = [spatial] if spatial.ndim == 3 else [spatial[..., l] for l in range(spatial.shape[3])]
    result["counts"] = [{str(int(v)): int(c) for v, c in zip(*np.unique(l, return_counts=True))} for l in layers]
if path.endswith(".seg.nrrd"):
    seg = slicerio.read_segmentation(path, skip_voxels=True)
    result["segments"] = [{"name": s["name"], "labelValue": int(s["labelValue"]), "layer": int(s.get("layer", 0)), "terminology": s.get("terminology")} for s in seg["segments"]]
json.dump(result, open(out, "w"))
