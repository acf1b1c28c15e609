"""One line of `bench/all.sh`'s table: appended as JSON to $BENCH_ROWS (when set) by
each peer script, printed by bench/table.py."""
import json
import os
import time


def best_of(n, f):
    """The fastest of n runs of f, in seconds, and f's last result."""
    best, result = float("inf"), None
    for _ in range(n):
        start = time.perf_counter()
        result = f()
        best = min(best, time.perf_counter() - start)
    return best, result


def emit(row, tool, seconds, note="", input=None, unit=None, target=None):
    """Isotherm's line of a row should carry `input` (what the row measured); a row
    without a peer carries its `target`, and `unit` when it is not seconds."""
    path = os.environ.get("BENCH_ROWS")
    if path:
        line = {"row": row, "tool": tool, "seconds": seconds, "note": note}
        for key, value in (("input", input), ("unit", unit), ("target", target)):
            if value:
                line[key] = value
        with open(path, "a") as f:
            f.write(json.dumps(line) + "\n")
