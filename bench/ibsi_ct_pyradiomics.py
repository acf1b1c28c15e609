"""pyradiomics on the IBSI lung CT with each configuration's settings, as far as
pyradiomics has them (it has no IVH features and no 3-sigma-with-range intersection
beyond its own resegmentMode; it aligns its resampled grid on the image origin, not on
the centre). Prints the best wall time of `execute` over five calls in one process
(as Isotherm's bench repeats in one process), and the feature count."""
import logging
import sys
import time

import radiomics
from radiomics import featureextractor

radiomics.setVerbosity(logging.ERROR)
CONFIGS = {
    "ibsi-ct-a": {"resegmentRange": [-500, 400], "binWidth": 25, "force2D": True},
    "ibsi-ct-b": {"resegmentRange": [-500, 400], "binCount": 32, "force2D": True,
                  "resampledPixelSpacing": [2, 2, 0], "interpolator": "sitkLinear"},
    "ibsi-ct-c": {"resegmentRange": [-1000, 400], "binWidth": 25,
                  "resampledPixelSpacing": [2, 2, 2], "interpolator": "sitkLinear"},
    "ibsi-ct-d": {"resegmentRange": [-3, 3], "resegmentMode": "sigma", "binCount": 32,
                  "resampledPixelSpacing": [2, 2, 2], "interpolator": "sitkLinear"},
    "ibsi-ct-e": {"resegmentRange": [-3, 3], "resegmentMode": "sigma", "binCount": 32,
                  "resampledPixelSpacing": [2, 2, 2], "interpolator": "sitkBSpline"},
}
image, mask, name = sys.argv[1], sys.argv[2], sys.argv[3]
extractor = featureextractor.RadiomicsFeatureExtractor(label=1, **CONFIGS[name])
extractor.enableAllFeatures()
# shape2D is for single-slice masks; the 3D shape class runs instead (as in IBSI).
extractor.enabledFeatures.pop("shape2D", None)
seconds = float("inf")
for _ in range(5):
    start = time.perf_counter()
    result = extractor.execute(image, mask)
    seconds = min(seconds, time.perf_counter() - start)
n = sum(1 for k in result if k.startswith("original_"))
print(f"{seconds:.3f} {n}")
