"""`results.json`: strict-JSON numbers and the atomic write."""

import os

import numpy as np

from dic_tf.utils import atomic

RESULTS_FILE = "results.json"


def write_results(results, output_dir):
    """Atomically writes `<output_dir>/results.json` (mode 0644 by default); returns its path.

    Example:
        write_results({"images": {}}, "runs/eval")  # "runs/eval/results.json"
    """
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, RESULTS_FILE)
    atomic.write_json(path, results, indent=2, allow_nan=False)
    return path


def json_float(value):
    """float, or None for a non-finite value (strict JSON has no Infinity).

    Example:
        json_float(float("inf"))  # None
    """
    return float(value) if np.isfinite(value) else None
