"""predict.py: folders, resizing, landmarks, unreadable files, model sources."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from dic_tf.export import exporter
from dic_tf.inference import KerasPredictor, SavedModelPredictor
from dic_tf.models import build_dic, saving
from dic_tf.models.dic_config import DICConfig
from dic_tf.training import checkpoints
from dic_tf.utils import image_files
from dic_tf.utils.resize import resize_bicubic
from tests.exif_images import save_with_orientation

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


def test_read_rgb_names_unreadable_file(faces):
    with pytest.raises(image_files.ImageReadError, match="broken.png"):
        image_files.read_rgb(str(faces / "broken.png"))


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
    lr = resize_bicubic(image_files.read_rgb(str(faces / "b.jpg")), 16)
    expected = SavedModelPredictor(report["path"])(lr[None])
    np.testing.assert_array_equal(sr, expected.sr[-1][0])
    np.testing.assert_array_equal(points["b.jpg"]["landmarks"], expected.landmarks[-1][0])


def test_single_image_from_training_checkpoint(model, faces, tmp_path):
    path = checkpoints.save_checkpoint(
        str(tmp_path / "checkpoints"), 5, model, {},
        {"config": DICConfig.tiny().to_dict(), "model": "DIC"},
    )
    out = tmp_path / "out"
    result = _predict(f"--checkpoint={path}", f"--input={faces / 'a.png'}", f"--output_dir={out}")
    assert result.returncode == 0, result.stderr[-3000:]
    sr = np.asarray(Image.open(out / "a.png"))
    lr = image_files.read_rgb(str(faces / "a.png"))
    expected = KerasPredictor(model)(lr[None]).sr[-1][0]
    assert np.max(np.abs(sr.astype(int) - expected.astype(int))) <= 1


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
    lr = image_files.read_rgb(str(faces / "a.jpg"))
    expected = KerasPredictor(saving.load_model(tiny_checkpoint)[0])(lr[None])
    sr = np.asarray(Image.open(out / "a.jpg.png")).astype(int)
    assert np.max(np.abs(sr - expected.sr[-1][0])) <= 1
    assert not np.array_equal(sr, np.asarray(Image.open(out / "a.png.png")))


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_exif_turned_inputs_give_the_upright_inputs_results(tiny_checkpoint, tmp_path):
    """A phone picture stored turned (EXIF orientation 6 or 8, or mirrored: 5) is super-resolved upright."""
    faces = tmp_path / "faces"
    faces.mkdir()
    upright = np.random.default_rng(4).integers(0, 256, (24, 20, 3), dtype=np.uint8)  # resized to 16x16
    Image.fromarray(upright).save(faces / "upright.png")
    for orientation in (5, 6, 8):
        save_with_orientation(faces / f"turned{orientation}.png", upright, orientation)
    out = tmp_path / "out"
    result = _predict(f"--checkpoint={tiny_checkpoint}", f"--input={faces}", f"--output_dir={out}", "--landmarks")
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out / "landmarks.json") as f:
        points = json.load(f)
    for orientation in (5, 6, 8):
        name = f"turned{orientation}.png"
        assert (out / name).read_bytes() == (out / "upright.png").read_bytes()
        assert (out / "landmarks" / name).read_bytes() == (out / "landmarks" / "upright.png").read_bytes()
        assert points[name]["landmarks"] == points["upright.png"]["landmarks"]


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
    assert image_files.output_names(["x/a.png", "x/a.jpg", "x/b.jpg"]) == [
        "a.png.png", "a.jpg.png", "b.png"]
    with pytest.raises(ValueError, match="a.jpg.png"):
        image_files.output_names(["x/a.png", "x/a.jpg", "x/a.jpg.png"])
