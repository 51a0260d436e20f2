"""predict.py: folders, resizing, landmarks, unreadable files, model sources."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from dic_tf.export import exporter
from dic_tf.inference import loading as inference
from dic_tf.models import build_dic, saving
from dic_tf.models.dic_config import DICConfig
from dic_tf.training import checkpoints

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


@pytest.mark.slow
def test_folder_from_saved_model_with_landmarks(model, faces, tmp_path):
    report = exporter.export(model, str(tmp_path / "dic"))
    out = tmp_path / "out"
    result = _predict(f"--saved_model={tmp_path / 'dic'}", f"--input={faces}",
                      f"--output_dir={out}", "--landmarks")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "broken.png" in result.stderr
    assert "2 of 3 image(s)" in result.stdout
    assert sorted(os.listdir(out)) == ["a.png", "b.png", "landmarks", "landmarks.json"]
    assert sorted(os.listdir(out / "landmarks")) == ["a.png", "b.png"]
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
    path = checkpoints.save_checkpoint(
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
    path = checkpoints.save_checkpoint(
        str(tmp_path / "checkpoints"), 1, model, {},
        {"config": DICConfig.tiny().to_dict(), "model": "DIC"},
    )
    result = _predict(f"--checkpoint={path}", f"--input={folder}", f"--output_dir={tmp_path / 'out'}")
    assert result.returncode != 0
    assert "x.png" in result.stderr and "y.jpg" in result.stderr


def _tree(folder):
    """{relative path: bytes} of every file under `folder`."""
    return {
        os.path.relpath(os.path.join(d, n), folder): open(os.path.join(d, n), "rb").read()
        for d, _, names in os.walk(folder) for n in names
    }


@pytest.fixture(scope="module")
def tiny_checkpoint(model, tmp_path_factory):
    return checkpoints.save_checkpoint(
        str(tmp_path_factory.mktemp("ckpt") / "checkpoints"), 1, model, {},
        {"config": DICConfig.tiny().to_dict(), "model": "DIC"},
    )


def _clashing_faces(folder):
    """a.png and a.jpg (same stem), b.png and b_landmarks.png (today's overlay name)."""
    folder.mkdir()
    rng = np.random.default_rng(3)
    for name in ("a.png", "a.jpg", "b.png", "b_landmarks.png"):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(folder / name)
    return folder


def test_distinct_inputs_get_distinct_outputs(tiny_checkpoint, tmp_path):
    faces = _clashing_faces(tmp_path / "faces")
    out = tmp_path / "out"
    result = _predict(f"--checkpoint={tiny_checkpoint}", f"--input={faces}",
                      f"--output_dir={out}", "--landmarks")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "4 of 4 image(s) written" in result.stdout
    assert f"SR faces in {out}" in result.stdout and "a.jpg -> a.jpg.png" in result.stdout
    names = ["a.jpg.png", "a.png.png", "b.png", "b_landmarks.png"]
    assert sorted(os.listdir(out)) == names + ["landmarks", "landmarks.json"]
    assert sorted(os.listdir(out / "landmarks")) == names
    with open(out / "landmarks.json") as f:
        index = json.load(f)
    assert {index[k]["sr_file"] for k in index} == set(names)
    assert index["b.png"]["overlay_file"] == "landmarks/b.png"
    assert oct(os.stat(out / "landmarks.json").st_mode & 0o777) == oct(0o666 & ~_umask())
    # Each SR file is the SR of its own input (a.png and a.jpg differ).
    lr = inference.to_lr(inference.read_rgb(str(faces / "a.jpg")), 16)
    expected = inference.KerasPredictor(saving.load_model(tiny_checkpoint)[0])(lr[None])
    sr = np.asarray(Image.open(out / "a.jpg.png")).astype(int)
    assert np.max(np.abs(sr - inference.to_uint8(expected["sr"][0]))) <= 1
    assert not np.array_equal(sr, np.asarray(Image.open(out / "a.png.png")))


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("flags", [[], ["--overwrite"]])
def test_output_folder_equal_to_input_never_overwrites_inputs(tiny_checkpoint, tmp_path, flags):
    faces = tmp_path / "faces"
    faces.mkdir()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(faces / "a.png")
    before = _tree(faces)
    result = _predict(f"--checkpoint={tiny_checkpoint}", f"--input={faces}",
                      f"--output_dir={faces}", *flags)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert "would overwrite the input" in result.stderr
    assert _tree(faces) == before


def test_earlier_outputs_are_replaced_only_with_overwrite(tiny_checkpoint, faces, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"the user's file")
    args = [f"--checkpoint={tiny_checkpoint}", f"--input={faces / 'a.png'}", f"--output_dir={out}"]
    result = _predict(*args)
    assert result.returncode == 1 and "--overwrite" in result.stderr
    assert (out / "a.png").read_bytes() == b"the user's file"
    result = _predict(*args, "--overwrite")
    assert result.returncode == 0, result.stderr[-3000:]
    assert np.asarray(Image.open(out / "a.png")).shape == (128, 128, 3)


def test_output_names():
    assert inference.output_names(["x/a.png", "x/a.jpg", "x/b.jpg"]) == [
        "a.png.png", "a.jpg.png", "b.png"]
    with pytest.raises(ValueError, match="a.jpg.png"):
        inference.output_names(["x/a.png", "x/a.jpg", "x/a.jpg.png"])
