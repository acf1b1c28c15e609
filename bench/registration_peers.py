"""Registration peers on the pair written by `isotherm margin bench-registration`:
elastix (itk-elastix: translation, affine, then B-spline, default parameter maps) and SimpleITK (rigid by mean squares, then fast symmetric-forces demons). Prints
landmark TRE and wall time next to Isotherm's."""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rows import emit  # noqa: E402


def load(out, name, geom):
    nx, ny, nz = geom["dims"]
    return np.fromfile(os.path.join(out, name), dtype="<f4").reshape(nz, ny, nx)


def tre(mapped, landmarks):
    return float(np.mean([np.linalg.norm(np.array(m) - np.array(l["post"])) for m, l in zip(mapped, landmarks)]))


def trilinear_field(field, geom, p):
    """Sample a (z, y, x, 3) displacement field on the pre grid at world point p."""
    from scipy.ndimage import map_coordinates
    idx = [(p[a] - geom["origin"][a]) / geom["spacing"][a] for a in range(3)]
    coords = np.array([[idx[2]], [idx[1]], [idx[0]]])
    return np.array([map_coordinates(field[..., c], coords, order=1)[0] for c in range(3)])


def run_simpleitk(out, case, pre, post):
    import SimpleITK as sitk

    def image(a, g):
        im = sitk.GetImageFromArray(a)
        im.SetSpacing(g["spacing"]); im.SetOrigin(g["origin"]); im.SetDirection(g["direction"])
        return im

    fixed, moving = image(pre, case["pre"]), image(post, case["post"])
    start = time.perf_counter()
    reg = sitk.ImageRegistrationMethod()
    reg.SetMetricAsMeanSquares()
    reg.SetMetricSamplingStrategy(reg.RANDOM); reg.SetMetricSamplingPercentage(0.05, 1)
    reg.SetOptimizerAsRegularStepGradientDescent(4.0, 0.01, 200)
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetShrinkFactorsPerLevel([4, 2, 1]); reg.SetSmoothingSigmasPerLevel([2, 1, 0])
    reg.SetInitialTransform(sitk.CenteredTransformInitializer(fixed, moving, sitk.Euler3DTransform(), sitk.CenteredTransformInitializerFilter.MOMENTS))
    reg.SetInterpolator(sitk.sitkLinear)
    rigid = reg.Execute(fixed, moving)
    moved = sitk.Resample(moving, fixed, rigid, sitk.sitkLinear, -1024.0)
    demons = sitk.FastSymmetricForcesDemonsRegistrationFilter()
    demons.SetNumberOfIterations(100); demons.SetStandardDeviations(1.5)
    field = demons.Execute(sitk.Cast(fixed, sitk.sitkFloat32), sitk.Cast(moved, sitk.sitkFloat32))
    seconds = time.perf_counter() - start
    disp = sitk.DisplacementFieldTransform(sitk.Cast(field, sitk.sitkVectorFloat64))
    mapped = [rigid.TransformPoint(disp.TransformPoint(l["pre"])) for l in case["landmarks"]]
    return tre(mapped, case["landmarks"]), seconds


def run_elastix(out, case, pre, post):
    import itk

    def image(a, g):
        im = itk.image_from_array(np.ascontiguousarray(a, dtype=np.float32))
        im.SetSpacing(g["spacing"]); im.SetOrigin(g["origin"])
        return im

    fixed, moving = image(pre, case["pre"]), image(post, case["post"])
    os.chdir(out)  # transformix writes deformationField.nii into the working directory
    params = itk.ParameterObject.New()
    # A translation stage first (elastix's automatic initialisation), as the scans are
    # 10-20 mm apart, then the default affine and B-spline maps.
    translation = params.GetDefaultParameterMap("translation")
    translation["AutomaticTransformInitialization"] = ["true"]
    params.AddParameterMap(translation)
    params.AddParameterMap(params.GetDefaultParameterMap("affine"))
    params.AddParameterMap(params.GetDefaultParameterMap("bspline"))
    start = time.perf_counter()
    _, tparams = itk.elastix_registration_method(fixed, moving, parameter_object=params, log_to_console=False)
    seconds = time.perf_counter() - start
    field = itk.array_from_image(itk.transformix_deformation_field(moving, tparams))
    mapped = [np.array(l["pre"]) + trilinear_field(field, case["pre"], l["pre"]) for l in case["landmarks"]]
    return tre(mapped, case["landmarks"]), seconds


def main(out):
    case = json.load(open(os.path.join(out, "case.json")))
    pre, post = load(out, "pre.raw", case["pre"]), load(out, "post.raw", case["post"])
    before = tre([l["pre"] for l in case["landmarks"]], case["landmarks"])
    iso = case["isotherm"]
    print(f"landmark TRE before registration: {before:.2f} mm ({len(case['landmarks'])} landmarks)")
    print(f"Isotherm: TRE {iso['tre_mm']:.2f} mm in {iso['seconds']:.1f} s")
    dims = case["pre"]["dims"]
    row = "registration"
    emit(row, "Isotherm", iso["seconds"], f"(TRE {iso['tre_mm']:.2f} mm)", input=f"phantom pair {dims[0]}x{dims[1]}x{dims[2]}, {len(case['landmarks'])} landmarks, TRE {before:.1f} mm before")
    for name, run in [("elastix (translation, affine, B-spline)", lambda: run_elastix(out, case, pre, post)), ("SimpleITK (rigid + demons)", lambda: run_simpleitk(out, case, pre, post))]:
        try:
            t, s = run()
            print(f"{name}: TRE {t:.2f} mm in {s:.1f} s")
            emit(row, name.split(" (")[0], s, f"(TRE {t:.2f} mm)")
        except Exception as e:  # a peer that fails to install or run is reported, not fatal
            print(f"{name}: failed: {e}")


if __name__ == "__main__":
    main(sys.argv[1])
