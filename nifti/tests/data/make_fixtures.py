"""Writes the NIfTI cross-check fixtures with nibabel (another tool than ours) and
records, for each file, the affine and voxel values nibabel reads back.

Written with nibabel 5.4.2. Run once, by hand (python3 -m venv v && v/bin/pip install nibabel numpy):
    v/bin/python make_fixtures.py
The outputs are committed; the Rust tests in host/tests/nifti.rs compare against them.
"""
import json
import numpy as np
import nibabel as nib

rng = np.random.default_rng(7)
expected = {}


def rot(ax, deg):
    t = np.deg2rad(deg)
    c, s = np.cos(t), np.sin(t)
    m = np.eye(3)
    i, j = [(1, 2), (0, 2), (0, 1)][ax]
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m


def affine(r, zooms, origin):
    a = np.eye(4)
    a[:3, :3] = r @ np.diag(zooms)
    a[:3, 3] = origin
    return a


def record(name, img, volume=None):
    img = nib.load(name)
    data = np.asanyarray(img.dataobj)
    if volume is not None:
        data = data.reshape(data.shape[:3] + (-1,), order="F")[..., volume]
    scaled = img.get_fdata() if volume is None else img.get_fdata().reshape(data.shape[:3] + (-1,), order="F")[..., volume]
    expected[name] = {
        "affine": img.affine.tolist(),
        "sform_code": int(img.header["sform_code"]),
        "qform_code": int(img.header["qform_code"]),
        "dims": [int(d) for d in img.shape],
        "volume": volume or 0,
        "values": scaled.flatten(order="F").tolist(),
    }


# 1. int16, oblique sform that differs from the qform: sform must win.
a = affine(rot(2, 20) @ rot(0, 10), [0.8, 0.7, 2.5], [-40.0, 12.5, 90.0])
d = rng.integers(-1000, 2000, size=(7, 6, 5)).astype(np.int16)
img = nib.Nifti1Image(d, a)
img.set_qform(affine(np.eye(3), [0.8, 0.7, 2.5], [1.0, 2.0, 3.0]), code=1)
img.set_sform(a, code=2)
nib.save(img, "n1_i16_sform_oblique.nii.gz")
record("n1_i16_sform_oblique.nii.gz", img)

# 2. float32, qform only, with a flipped axis (qfac = -1).
a = affine(rot(1, -15) @ np.diag([1, 1, -1]), [1.2, 1.1, 3.0], [5.0, -6.0, 7.0])
d = rng.normal(size=(5, 4, 6)).astype(np.float32)
img = nib.Nifti1Image(d, None)
img.set_qform(a, code=1)
img.set_sform(None, code=0)
nib.save(img, "n1_f32_qform_only.nii")
record("n1_f32_qform_only.nii", img)

# 3. uint8 with scl_slope / scl_inter.
d = rng.integers(0, 255, size=(4, 4, 3)).astype(np.uint8)
img = nib.Nifti1Image(d, affine(np.eye(3), [2.0, 2.0, 2.0], [0, 0, 0]))
img.header.set_slope_inter(0.5, -10.0)
nib.save(img, "n1_u8_scaled.nii.gz")
record("n1_u8_scaled.nii.gz", img)

# 4. NIfTI-2, float64.
d = rng.normal(size=(3, 5, 4)) * 100
img = nib.Nifti2Image(d, affine(rot(2, 90), [0.5, 0.6, 0.7], [10, 20, 30]))
nib.save(img, "n2_f64.nii.gz")
record("n2_f64.nii.gz", img)

# 5. Big-endian int32 .hdr/.img pair.
d = rng.integers(-50000, 50000, size=(4, 3, 2)).astype(">i4")
img = nib.Nifti1Pair(d, affine(np.eye(3), [1.5, 1.5, 4.0], [-3, -2, -1]))
img.header.set_data_dtype(">i4")
hdr = img.header.as_byteswapped(">")
img = nib.Nifti1Pair(d, img.affine, hdr)
nib.save(img, "pair_i32_be.hdr")
record("pair_i32_be.hdr", img)

# 6. 4D uint16, volume 2 of 3.
d = rng.integers(0, 60000, size=(5, 4, 3, 3)).astype(np.uint16)
img = nib.Nifti1Image(d, affine(np.eye(3), [1.0, 1.0, 1.0], [0, 0, 0]))
nib.save(img, "n1_4d_u16.nii.gz")
record("n1_4d_u16.nii.gz", img, volume=2)

# 7. Big-endian int16 single file: the CT case, read straight into its buffer and swapped.
d = rng.integers(-1024, 3000, size=(6, 5, 4)).astype(">i2")
img = nib.Nifti1Image(d, affine(np.eye(3), [0.7, 0.7, 2.0], [-100, -80, 40]))
img.header.set_data_dtype(">i2")
hdr = img.header.as_byteswapped(">")
img = nib.Nifti1Image(d, img.affine, hdr)
nib.save(img, "n1_i16_be.nii")
record("n1_i16_be.nii", img)

with open("expected.json", "w") as f:
    json.dump(expected, f, indent=1)
print("wrote", ", ".join(expected))
