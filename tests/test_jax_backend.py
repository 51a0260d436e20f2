"""The same parity checks pass with KERAS_BACKEND=jax (run in a subprocess)."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from tests import reference

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_jax_backend_matches_reference(record_error):
    pytest.importorskip("jax")
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3", JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [sys.executable, "-m", "tests.reference"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout)
    assert report["backend"] == "jax"
    worst = 0.0
    for fixture, errors in report["errors"].items():
        tolerance = 1e-6 if fixture == "merge" else reference.PARITY_TOLERANCE
        for key, value in errors.items():
            record_error(f"jax:{fixture}/{key}", value, tolerance)
            assert value <= tolerance, (fixture, key, value)
            worst = max(worst, value)
    assert set(report["errors"]) == {
        *reference.DIC_FIXTURES,
        *reference.HOURGLASS_FIXTURES,
        "lightcnn",
        "merge",
    }
