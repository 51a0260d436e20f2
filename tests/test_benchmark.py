"""`python -m dic_tf.benchmark` runs on TensorFlow, and on JAX without TensorFlow."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from dic_tf.benchmark import measure as benchmark

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY_ARGS = ["--config=tiny", "--batch_sizes=1,2", "--train_batch_sizes=1", "--repeats=1"]


def _check(report, batch_sizes, train_batch_sizes):
    kinds = [(row["kind"], row["batch_size"]) for row in report["rows"]]
    assert kinds == [("inference", b) for b in batch_sizes] + [
        ("train_step", b) for b in train_batch_sizes
    ]
    for row in report["rows"]:
        assert row["median_s"] > 0 and row["min_s"] <= row["median_s"]
        assert row["peak_memory_bytes"] > 0


def test_tensorflow_benchmark_writes_table_and_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    benchmark.main(["--backend=tensorflow", *TINY_ARGS, f"--json_out={out}"])
    report = json.loads(out.read_text())
    assert report["backend"] == "tensorflow" and report["config"] == "tiny"
    _check(report, [1, 2], [1])
    table = capsys.readouterr().out
    assert "| inference | 2 |" in table and "| train_step | 1 |" in table


def test_jax_benchmark_runs_without_tensorflow(tmp_path):
    pytest.importorskip("jax")
    shim = tmp_path / "shim"
    shim.mkdir()
    # `import tensorflow` raises ImportError in the subprocess, as where it is not installed.
    (shim / "sitecustomize.py").write_text("import sys\nsys.modules['tensorflow'] = None\n")
    out = tmp_path / "bench.json"
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", PYTHONPATH=str(shim))
    result = subprocess.run(
        [sys.executable, "-m", "dic_tf.benchmark", "--backend=jax", "--config=tiny",
         "--batch_sizes=1", "--train_batch_sizes=1", "--repeats=1", f"--json_out={out}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(out.read_text())
    assert report["backend"] == "jax" and report["jit"]
    _check(report, [1], [1])
    assert "| train_step | 1 |" in result.stdout
