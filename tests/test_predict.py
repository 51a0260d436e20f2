"""predict.py: folders, resizing, landmarks, unreadable files, model sources."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from dic_tf import checkpoint, inference
from dic_tf.config import DICConfig
from dic_tf.export import exporter
from dic_tf.models import build_dic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _predict(*args):
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "predict.py"), *args],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )


@pytest.fixture(scope="module")
def model():
    return build_dic(DICConfig.tiny())


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """A folder with a 16x16 PNG, a 40x32 JPEG, a corrupt PNG and a non-image file."""
    folder = tmp_path_factory.mktemp("faces")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(folder / "a.png")
    Image.fromarray(rng.integers(0, 256, (32, 40, 3), dtype=np.uint8)).save(folder / "b.jpg")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    (folder / "notes.txt").write_text("ignored")
    return folder


def test_to_lr_uses_pillow_bicubic_only_when_needed():
    image = np.random.default_rng(1).integers(0, 256, (24, 20, 3), dtype=np.uint8)
    expected = np.asarray(Image.fromarray(image).resize((16, 16), Image.BICUBIC)) / 255.0
    np.testing.assert_allclose(inference.to_lr(image, 16), expected, atol=1e-7)
    small = image[:16, :16]
    np.testing.assert_allclose(inference.to_lr(small, 16), small / 255.0, atol=1e-7)


def test_read_rgb_names_unreadable_file(faces):
    with pytest.raises(inference.ImageReadError, match="broken.png"):
        inference.read_rgb(str(faces / "broken.png"))


def test_folder_from_saved_model_with_landmarks(model, faces, tmp_path):
    report = exporter.export(model, str(tmp_path / "dic"))
    out = tmp_path / "out"
    result = _predict(f"--saved_model={tmp_path / 'dic'}", f"--input={faces}",
                      f"--output_dir={out}", "--landmarks")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "broken.png" in result.stderr
    assert "2 of 3 image(s)" in result.stdout
    assert sorted(os.listdir(out)) == [
        "a.png", "a_landmarks.png", "b.png", "b_landmarks.png", "landmarks.json"
    ]
    with open(out / "landmarks.json") as f:
        points = json.load(f)
    assert sorted(points) == ["a.png", "b.jpg"]
    assert np.asarray(points["b.jpg"]["landmarks"]).shape == (68, 2)
    sr = np.asarray(Image.open(out / "b.png"))
    assert sr.shape == (128, 128, 3)
    lr = inference.to_lr(inference.read_rgb(str(faces / "b.jpg")), 16)
    expected = inference.SavedModelPredictor(report["path"])(lr[None])
    np.testing.assert_array_equal(sr, inference.to_uint8(expected["sr"][0]))
    np.testing.assert_array_equal(points["b.jpg"]["landmarks"], expected["landmarks"][0])


def test_single_image_from_training_checkpoint(model, faces, tmp_path):
    path = checkpoint.save_checkpoint(
        str(tmp_path / "checkpoints"), 5, model, {},
        {"config": DICConfig.tiny().to_dict(), "model": "DIC"},
    )
    out = tmp_path / "out"
    result = _predict(f"--checkpoint={path}", f"--input={faces / 'a.png'}", f"--output_dir={out}")
    assert result.returncode == 0, result.stderr[-3000:]
    sr = np.asarray(Image.open(out / "a.png"))
    lr = inference.to_lr(inference.read_rgb(str(faces / "a.png")), 16)
    expected = inference.KerasPredictor(model)(lr[None])["sr"][0]
    assert np.max(np.abs(sr.astype(int) - inference.to_uint8(expected).astype(int))) <= 1


def test_nothing_processed_exits_non_zero(model, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "x.png").write_bytes(b"garbage")
    (folder / "y.jpg").write_bytes(b"")
    path = checkpoint.save_checkpoint(
        str(tmp_path / "checkpoints"), 1, model, {},
        {"config": DICConfig.tiny().to_dict(), "model": "DIC"},
    )
    result = _predict(f"--checkpoint={path}", f"--input={folder}", f"--output_dir={tmp_path / 'out'}")
    assert result.returncode != 0
    assert "x.png" in result.stderr and "y.jpg" in result.stderr
