"""Distance-transform peers on the mask written by `isotherm margin bench-edt`: SciPy's
exact `distance_transform_edt` (the reference values) and SimpleITK's
SignedMaurerDistanceMap (the fastest peer). Prints times and the largest difference of
each result from SciPy's."""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rows import best_of, emit  # noqa: E402


def main(out):
    case = json.load(open(os.path.join(out, "case.json")))
    nx, ny, nz = case["dims"]
    sx, sy, sz = case["spacing"]
    mask = np.fromfile(os.path.join(out, "mask.raw"), dtype=np.uint8).reshape(nz, ny, nx).astype(bool)
    ours = np.fromfile(os.path.join(out, "isotherm.raw"), dtype="<f4").reshape(nz, ny, nx)
    from scipy.ndimage import distance_transform_edt
    # Distance from every voxel to the nearest mask voxel: EDT of the complement.
    t_scipy, ref = best_of(3, lambda: distance_transform_edt(~mask, sampling=(sz, sy, sx)))
    import SimpleITK as sitk
    image = sitk.GetImageFromArray(mask.astype(np.uint8))
    image.SetSpacing((sx, sy, sz))
    def maurer():
        d = sitk.SignedMaurerDistanceMap(image, insideIsPositive=False, squaredDistance=False, useImageSpacing=True)
        return np.maximum(sitk.GetArrayViewFromImage(d), 0.0)
    t_sitk, theirs = best_of(3, maurer)
    print(f"mask {nx}x{ny}x{nz} at {sx} x {sy} x {sz} mm, {mask.sum()} voxels inside")
    print(f"Isotherm: {case['seconds']:.3f} s, max |difference from SciPy| = {np.abs(ours - ref).max():.2e} mm")
    print(f"SciPy distance_transform_edt: {t_scipy:.3f} s")
    print(f"SimpleITK SignedMaurerDistanceMap: {t_sitk:.3f} s, max |difference from SciPy| = {np.abs(theirs - ref).max():.2e} mm")
    row, what = "exact EDT", f"{nx}x{ny}x{nz} mask at {sx} x {sy} x {sz} mm"
    emit(row, "Isotherm", case["seconds"], f"(max diff from SciPy {np.abs(ours - ref).max():.1e} mm)", input=what)
    emit(row, "SciPy", t_scipy, "(distance_transform_edt)")
    emit(row, "SimpleITK", t_sitk, f"(SignedMaurerDistanceMap, max diff {np.abs(theirs - ref).max():.1e} mm)")


if __name__ == "__main__":
    main(sys.argv[1])
