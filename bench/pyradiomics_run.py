"""pyradiomics on the same input and settings as `isotherm run radiomics`: every
feature class, bin width 25 HU, re-segmentation [-500, 400] HU. Prints wall time."""
import logging
import sys
import time

import radiomics
from radiomics import featureextractor

radiomics.setVerbosity(logging.ERROR)
settings = {"binWidth": 25, "resegmentRange": [-500, 400], "label": 1}
extractor = featureextractor.RadiomicsFeatureExtractor(**settings)
extractor.enableAllFeatures()
start = time.perf_counter()
result = extractor.execute(sys.argv[1], sys.argv[2])
n = sum(1 for k in result if k.startswith("original_"))
seconds = time.perf_counter() - start
print(f"  {seconds:.2f} s wall, {n} features")
if len(sys.argv) > 3:
    import os
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from rows import emit
    emit("radiomics", "pyradiomics", seconds, f"({radiomics.__version__}, {n} 3D features)")
