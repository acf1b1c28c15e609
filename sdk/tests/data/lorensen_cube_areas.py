"""Surface area of every unambiguous marching-cubes configuration, one cube, by
scikit-image's classic (Lorensen) table: the oracle of sdk/tests/marching_cubes.rs.

    python3 -m venv /tmp/mc && /tmp/mc/bin/pip install scikit-image==0.26.0
    /tmp/mc/bin/python sdk/tests/data/lorensen_cube_areas.py > sdk/tests/data/lorensen_cube_areas.csv

Corner n of the cube is (n & 1, n >> 1 & 1, n >> 2 & 1) in (i, j, k); a configuration
is the 8-bit code of its inside corners. Ambiguous ones (a face whose inside corners
are diagonal) are left out: there the classic table is not watertight and ours is.
"""
import itertools

import numpy as np
from skimage import measure

SPACINGS = [(0.977, 0.977, 3.0), (3.0, 0.977, 0.977), (0.977, 3.0, 0.977)] + list(itertools.permutations((0.7, 1.3, 2.9)))
FACES = [[0, 1, 3, 2], [4, 5, 7, 6], [0, 1, 5, 4], [2, 3, 7, 6], [0, 2, 6, 4], [1, 3, 7, 5]]


def ambiguous(code):
    inside = [code >> n & 1 for n in range(8)]
    return any(inside[f[0]] == inside[f[2]] != inside[f[1]] == inside[f[3]] for f in FACES)


print("code," + ",".join("x".join(str(s) for s in sp) for sp in SPACINGS))
for code in range(1, 255):
    if ambiguous(code):
        continue
    v = np.zeros((2, 2, 2), np.float32)
    for n in range(8):
        if code >> n & 1:
            v[n & 1, n >> 1 & 1, n >> 2 & 1] = 1.0
    areas = []
    for sp in SPACINGS:
        verts, faces, _, _ = measure.marching_cubes(v, 0.5, spacing=sp, method="lorensen")
        areas.append(f"{measure.mesh_surface_area(verts, faces):.9f}")
    print(f"{code}," + ",".join(areas))
