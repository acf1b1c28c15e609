"""The peers of `bench/all.sh`, on the files `isotherm-bench ROW` wrote: each function
times the peers best of three and appends one JSON line per tool to ROWS (the table is
printed by bench/table.py). A peer that fails to import or run is reported, not fatal.

    python bench/peers.py ROW DIR ROWS.jsonl      # ROW: mc | components | nifti | edt
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rows as rows_module  # noqa: E402
from rows import best_of  # noqa: E402


def emit(rows, row, tool, seconds, note="", input=None):
    os.environ["BENCH_ROWS"] = rows
    rows_module.emit(row, tool, seconds, note, input)
    print(f"  {tool}: {seconds:.3f} s {note}")


def try_peer(rows, row, tool, f):
    try:
        seconds, note = f()
        emit(rows, row, tool, seconds, note)
    except Exception as e:  # noqa: BLE001 - a peer that cannot run is reported
        print(f"  {tool}: failed: {e}")


def marching_cubes(out, rows, case):
    nx, ny, nz = case["geometry"]["dims"]
    sx, sy, sz = case["geometry"]["spacing"]
    field = np.fromfile(os.path.join(out, "mask.raw"), dtype=np.uint8).reshape(nz, ny, nx).astype(np.float32)

    def skimage():
        import skimage
        from skimage.measure import marching_cubes
        t, (verts, faces, _, _) = best_of(3, lambda: marching_cubes(field, level=0.5, spacing=(sz, sy, sx)))
        return t, f"({len(faces)} triangles; scikit-image {skimage.__version__})"

    try_peer(rows, case["row"], "scikit-image", skimage)


def components(out, rows, case):
    nx, ny, nz = case["dims"]
    mask = np.fromfile(os.path.join(out, "mask.raw"), dtype=np.uint8).reshape(nz, ny, nx)

    def scipy_label():
        import scipy
        from scipy.ndimage import label
        t, (_, n) = best_of(3, lambda: label(mask, structure=np.ones((3, 3, 3), dtype=bool)))
        return t, f"({n} components; SciPy {scipy.__version__})"

    def sitk_label():
        import SimpleITK as sitk
        image = sitk.GetImageFromArray(mask)

        def run():
            f = sitk.ConnectedComponentImageFilter()
            f.SetFullyConnected(True)
            f.Execute(image)
            return f.GetObjectCount()
        t, n = best_of(3, run)
        return t, f"({n} components; SimpleITK {sitk.Version_VersionString()})"

    try_peer(rows, case["row"], "SciPy", scipy_label)
    try_peer(rows, case["row"], "SimpleITK", sitk_label)


def nifti(out, rows, case):
    path = case["file"]

    def nibabel_read():
        import nibabel
        t, a = best_of(3, lambda: np.asanyarray(nibabel.load(path).dataobj))
        return t, f"({a.size} voxels; nibabel {nibabel.__version__})"

    def sitk_read():
        import SimpleITK as sitk
        t, a = best_of(3, lambda: sitk.GetArrayFromImage(sitk.ReadImage(path)))
        return t, f"({a.size} voxels; SimpleITK {sitk.Version_VersionString()})"

    try_peer(rows, case["row"], "nibabel", nibabel_read)
    try_peer(rows, case["row"], "SimpleITK", sitk_read)


def main(row, out, rows):
    case = json.load(open(os.path.join(out, "case.json")))
    emit(rows, case["row"], "Isotherm", case["seconds"], "", case["input"])
    {"mc": marching_cubes, "components": components, "nifti": nifti}[row](out, rows, case)


if __name__ == "__main__":
    main(*sys.argv[1:4])
