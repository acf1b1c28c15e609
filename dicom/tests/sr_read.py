"""Two independent readings of a DICOM SR (TID 1500): highdicom's parsed measurement
groups and dcmqi's tid1500reader JSON, side by side as one JSON.

    python sr_read.py SR.dcm OUT.json
"""
import json
import os
import subprocess
import sys
import tempfile

import highdicom as hd

sr = hd.sr.srread(sys.argv[1])
groups = []
for g in sr.content.get_volumetric_roi_measurement_groups():
    ref = g.referenced_segment
    groups.append({
        "tracking_id": g.tracking_identifier,
        "finding": g.finding_type.value if g.finding_type is not None else None,
        "finding_sites": [s.value.value for s in g.finding_sites],
        "segments": [int(n) for n in ref.referenced_segment_numbers] if ref is not None else None,
        "source_series": ref.source_series_for_segmentation.value if ref is not None else None,
        "seg_uid": ref.referenced_sop_instance_uid if ref is not None else None,
        "measurements": [{
            "concept": [m.name.value, m.name.scheme_designator],
            "value": float(m.value),
            "unit": m.unit.value,
            "derivation": m.derivation.value if m.derivation is not None else None,
        } for m in g.get_measurements()],
    })
out = {"highdicom": {"version": hd.__version__, "groups": groups}}
with tempfile.TemporaryDirectory() as d:
    meta = os.path.join(d, "sr.json")
    reader = os.path.join(os.path.dirname(sys.executable), "tid1500reader")
    r = subprocess.run([reader, "--inputDICOM", sys.argv[1], "--outputMetadata", meta], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"tid1500reader failed ({r.returncode}): {r.stdout}{r.stderr}")
    out["dcmqi"] = json.load(open(meta))
json.dump(out, open(sys.argv[2], "w"), indent=1)
