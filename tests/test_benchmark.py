"""`python -m dic_tf.benchmark` runs on TensorFlow, and on JAX without TensorFlow.

The report's keys and the table's columns are read by other tools
(docs/performance.md): the tests pin them.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from dic_tf.benchmark import table

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY_ARGS = ["--config=tiny", "--batch_sizes=1,2", "--train_batch_sizes=1", "--repeats=1"]
REPORT_KEYS = {"backend", "device", "gpu", "config", "precision", "jit", "deconv", "repeats", "cpu_count",
               "keras", "malloc", "python", "rows"}
ROW_KEYS = {"kind", "batch_size", "remat", "first_call_s", "median_s", "min_s", "images_per_s",
            "peak_memory_bytes", "kernel_share", "minor_faults_per_call", "load_average"}


def _benchmark(tmp_path, *args, **env):
    """Runs `python -m dic_tf.benchmark` as a user does; returns (process, JSON report)."""
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "dic_tf.benchmark", *args, f"--json_out={out}"],
        cwd=ROOT, env=dict(os.environ, **env), capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result, json.loads(out.read_text())


def _check(report, batch_sizes, train_batch_sizes):
    kinds = [(row["kind"], row["batch_size"]) for row in report["rows"]]
    assert kinds == [("inference", b) for b in batch_sizes] + [
        ("train_step", b) for b in train_batch_sizes
    ]
    assert set(report) == REPORT_KEYS
    for row in report["rows"]:
        assert set(row) == ROW_KEYS
        assert row["median_s"] > 0 and row["min_s"] <= row["median_s"]
        assert row["peak_memory_bytes"] > 0


def test_tensorflow_benchmark_writes_table_and_json(tmp_path):
    result, report = _benchmark(tmp_path, "--backend=tensorflow", *TINY_ARGS, "--intra_op_threads=1",
                                KERAS_BACKEND="tensorflow")
    assert report["backend"] == "tensorflow" and report["config"] == "tiny"
    _check(report, [1, 2], [1])
    assert result.stdout.splitlines()[2:] == [table.TABLE_HEADER.splitlines()[0], table.TABLE_HEADER.splitlines()[1],
                                              *[table.format_row(row) for row in report["rows"]]]
    assert "| inference | 2 |" in result.stdout and "| train_step | 1 |" in result.stdout
    # A line per row on stderr while measuring; none with --noprogress.
    assert sum(line.startswith("| ") for line in result.stderr.splitlines()) == 3


def test_jax_benchmark_runs_without_tensorflow(tmp_path):
    pytest.importorskip("jax")
    shim = tmp_path / "shim"
    shim.mkdir()
    # `import tensorflow` raises ImportError in the subprocess, as where it is not installed.
    (shim / "sitecustomize.py").write_text("import sys\nsys.modules['tensorflow'] = None\n")
    result, report = _benchmark(tmp_path, "--backend=jax", "--config=tiny", "--batch_sizes=1",
                                "--train_batch_sizes=1", "--repeats=1", "--noprogress",
                                KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", PYTHONPATH=str(shim))
    assert report["backend"] == "jax" and report["jit"]
    assert not any(line.startswith("| ") for line in result.stderr.splitlines())
    _check(report, [1], [1])
    assert "| train_step | 1 |" in result.stdout


def _photo_with_two_faces(path):
    """A 320x240 JPEG with the two public-domain fixture faces pasted at 20 and 24 px."""
    from PIL import Image

    yy, xx = np.mgrid[0:240, 0:320]
    background = np.stack([90 + 40 * np.sin(xx / 17), 110 + 30 * np.cos(yy / 11), np.full(xx.shape, 130.0)], -1)
    image = Image.fromarray(background.astype(np.uint8))
    for name, side, x, y in [("astronaut", 20, 40, 60), ("camera", 24, 200, 100)]:
        face = Image.open(ROOT / "tests" / "fixtures" / "photos" / f"{name}_face.png").convert("RGB")
        image.paste(face.resize((side, side), Image.LANCZOS), (x, y))
    image.save(path, quality=95)


def test_photos_row_times_each_part_of_predict_photos(tmp_path):
    pytest.importorskip("mtcnn")
    photo = tmp_path / "two_faces.jpg"
    _photo_with_two_faces(photo)
    result, report = _benchmark(tmp_path, "--config=tiny", "--batch_sizes=", "--train_batch_sizes=",
                                f"--photo={photo}", "--photo_upscale=4", "--repeats=2", "--noprogress")
    (row,) = report["rows"]
    assert set(row) == ROW_KEYS | {"upscale", "size", "parts"}
    assert (row["kind"], row["batch_size"], row["upscale"], row["size"]) == ("photos", 2, 4, [320, 240])
    parts = ("read_s", "detection_s", "alignment_s", "sr_s", "paste_s", "write_s")
    assert tuple(row["parts"]) == parts and row["parts"]["sr_s"] > 0
    assert sum(row["parts"].values()) <= row["median_s"] * 1.5  # the parts are the photo's time
    assert table.format_row(row) in result.stdout and "| photos x4 320x240 (read " in result.stdout
