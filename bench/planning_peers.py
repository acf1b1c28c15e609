"""The peer of the bioheat row of `bench/planning.sh`: a plain NumPy explicit (FTCS)
Pennes solver, 7-point stencil plus perfusion, float32, on the same grid, step and step
count as Isotherm's run (case.json), with a fixed Gaussian source. It has no
vaporisation, no SAR updates and no damage: it does less than Isotherm's run.

    python bench/planning_peers.py DIR ROWS.jsonl
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rows as rows_module  # noqa: E402


def numpy_ftcs(n, steps, dt):
    h = 1e-3
    k, rho_c, perf = 0.52, 1079.0 * 3540.0, 1000.0 * 3639.0 * 3.6e-3
    t = np.full((n, n, n), 37.0, dtype=np.float32)
    z, y, x = np.mgrid[0:n, 0:n, 0:n].astype(np.float32)
    c = n / 2
    r2 = ((x - c) ** 2 + (y - c) ** 2 + (z - c) ** 2) * h * h
    q = (30.0 / ((2 * np.pi) ** 1.5 * (4e-3) ** 3) * np.exp(-r2 / (2 * (4e-3) ** 2))).astype(np.float32)
    a = np.float32(dt * k / (rho_c * h * h))
    b = np.float32(dt / rho_c)
    p = np.float32(dt * perf / rho_c)
    start = time.perf_counter()
    for _ in range(steps):
        inner = t[1:-1, 1:-1, 1:-1]
        lap = (t[2:, 1:-1, 1:-1] + t[:-2, 1:-1, 1:-1] + t[1:-1, 2:, 1:-1] + t[1:-1, :-2, 1:-1]
               + t[1:-1, 1:-1, 2:] + t[1:-1, 1:-1, :-2] - 6.0 * inner)
        new = inner + a * lap + b * q[1:-1, 1:-1, 1:-1] - p * (inner - 37.0)
        t[1:-1, 1:-1, 1:-1] = new
    return time.perf_counter() - start, float(t.max())


def main(out, rows):
    case = json.load(open(os.path.join(out, "case.json")))
    os.environ["BENCH_ROWS"] = rows
    rows_module.emit("bioheat", "Isotherm", case["seconds"], f"(zone {case['zone_long_mm']:.1f} x {case['zone_short_mm']:.1f} mm)", case["input"])
    print(f"  Isotherm: {case['seconds']:.3f} s")
    seconds, peak = numpy_ftcs(case["size"], case["steps"], case["dt"])
    rows_module.emit("bioheat", "NumPy FTCS", seconds, f"(numpy {np.__version__}; fixed source, peak {peak:.0f} C)")
    print(f"  NumPy FTCS: {seconds:.3f} s")


if __name__ == "__main__":
    main(*sys.argv[1:3])
