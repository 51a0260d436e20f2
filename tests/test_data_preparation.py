"""The official preparation against the authors' reference output (tests/fixtures/data.npz), and its image folders."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from dic_tf.data import augment, dataset_builder, heatmaps, image_folders, preparation, synthetic
from dic_tf.utils.image_files import read_rgb

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "tests", "fixtures")
FIXTURE = os.path.join(FIXTURES, "data.npz")


@pytest.fixture(scope="module")
def reference():
    with np.load(FIXTURE) as data:
        return {key: data[key] for key in data.files}


def test_prepare_example_matches_authors_exactly(reference):
    bbox = tuple(int(v) for v in reference["bbox"])
    example = preparation.prepare_example(reference["image"], reference["landmarks"], bbox)
    np.testing.assert_array_equal(example["hr"], reference["hr"])
    np.testing.assert_array_equal(example["lr"], reference["lr"])
    np.testing.assert_allclose(example["landmarks"], reference["landmarks_hr"], rtol=0, atol=1e-9)
    assert example["heatmaps"].dtype == np.float32
    np.testing.assert_allclose(example["heatmaps"], reference["gt_heatmap"], rtol=0, atol=1e-6)


def test_make_lr_is_the_official_lr(reference):
    lr = preparation.make_lr(reference["hr"])
    assert lr.dtype == np.uint8 and lr.shape == (16, 16, 3)
    np.testing.assert_array_equal(lr, reference["lr"])


def test_make_lr_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"hr has shape \(128, 120, 3\)"):
        preparation.make_lr(np.zeros((128, 120, 3), np.uint8))


def test_flip_permutation_is_the_authors(reference):
    np.testing.assert_array_equal(augment.FLIP_PERMUTATION_68, reference["flip_perm"])
    np.testing.assert_array_equal(augment.FLIP_PERMUTATION_68[augment.FLIP_PERMUTATION_68], np.arange(68))


def test_heatmap_peaks_at_landmarks():
    landmarks = np.array([[0.0, 0.0], [64.0, 20.0], [123.0, 90.0], [41.0, 7.0]])
    maps = heatmaps.gaussian_heatmaps(landmarks, size=32, stride=4.0, sigma=1.0)
    assert maps.shape == (32, 32, 4)
    for k, (x, y) in enumerate(landmarks):
        row, col = np.unravel_index(np.argmax(maps[:, :, k]), (32, 32))
        assert (col, row) == (round(x / 4), round(y / 4))


def test_hr_size_scale_and_heatmap_size_are_parameters(reference):
    bbox = tuple(int(v) for v in reference["bbox"])
    example = preparation.prepare_example(
        reference["image"], reference["landmarks"], bbox, hr_size=96, scale=4, heatmap_size=24
    )
    assert example["hr"].shape == (96, 96, 3)
    assert example["lr"].shape == (24, 24, 3)
    assert example["heatmaps"].shape == (24, 24, 68)
    np.testing.assert_allclose(example["landmarks"], reference["landmarks_hr"] * 96 / 128, atol=1e-9)


def _annotated_faces(folder, count=3):
    """Synthetic photos with an info.json (the authors' format); returns (images dir, info path, faces)."""
    faces = synthetic.generate_faces(count, seed=5)
    images = os.path.join(folder, "photos")
    return images, synthetic.write_faces(faces, images), faces


@pytest.mark.parametrize("scale", [8, 4, 2])
def test_image_folders_hold_the_official_hr_and_lr(tmp_path, scale):
    images, info, faces = _annotated_faces(str(tmp_path))
    summary = image_folders.write_image_folders(images, info, str(tmp_path / "test"), scale=scale)
    assert summary["num_faces"] == len(faces.names) and summary["skipped"] == []
    assert sorted(os.listdir(tmp_path / "test")) == ["HR", f"LR_x{scale}"]
    for name, image in zip(faces.names, faces.images):
        face = faces.info[name]
        hr, _ = preparation.crop_and_resize(image, face["landmark"], face["bbox"])
        stem = os.path.splitext(name)[0]
        written_hr = read_rgb(os.path.join(summary["hr_dir"], f"{stem}.png"))
        written_lr = read_rgb(os.path.join(summary["lr_dir"], f"{stem}.png"))
        assert written_hr.tobytes() == hr.tobytes()
        assert written_lr.shape == (128 // scale, 128 // scale, 3)
        assert written_lr.tobytes() == preparation.make_lr(hr, scale).tobytes()


def test_image_folders_never_replace_and_leave_nothing_on_failure(tmp_path):
    images, info, faces = _annotated_faces(str(tmp_path), count=2)
    out = tmp_path / "test"
    (out / "HR").mkdir(parents=True)
    (out / "HR" / "mine.png").write_bytes(b"user file")
    with pytest.raises(FileExistsError, match="HR already exists"):
        image_folders.write_image_folders(images, info, str(out))
    assert os.listdir(out / "HR") == ["mine.png"]
    os.remove(os.path.join(images, faces.names[1]))
    with pytest.raises(dataset_builder.PreparationError, match="image not found"):
        image_folders.write_image_folders(images, info, str(tmp_path / "other"))
    assert not os.path.exists(tmp_path / "other")
    summary = image_folders.write_image_folders(images, info, str(tmp_path / "other"), skip_bad=True)
    assert summary["num_faces"] == 1 and len(summary["skipped"]) == 1
    assert sorted(os.listdir(tmp_path / "other")) == ["HR", "LR_x8"]


def test_prepare_data_image_folders_feed_evaluate(tmp_path):
    images, info, faces = _annotated_faces(str(tmp_path))
    out = tmp_path / "test"

    def run(script, *args):
        return subprocess.run([sys.executable, os.path.join(REPO, script), *args, "--noprogress"],
                              cwd=REPO, capture_output=True, text=True, timeout=300)

    result = run("prepare_data.py", "--image_folders", "--scale=8", f"--images_dir={images}",
                 f"--annotations={info}", f"--output_dir={out}")
    assert result.returncode == 0, result.stderr
    assert f"wrote {len(faces.names)} HR faces" in result.stdout
    again = run("prepare_data.py", "--image_folders", f"--images_dir={images}", f"--output_dir={out}",
                f"--annotations={info}")
    assert again.returncode == 1 and again.stderr.count("\n") == 1 and "already holds HR" in again.stderr
    with np.load(os.path.join(FIXTURES, "dic_tiny.npz")) as data:
        np.savez(tmp_path / "dic_tiny.npz", **{k[2:]: data[k] for k in data.files if k.startswith("w:")})
    result = run("evaluate.py", f"--pytorch_checkpoint={tmp_path / 'dic_tiny.npz'}", "--config=tiny",
                 f"--hr_dir={out / 'HR'}", f"--lr_dir={out / 'LR_x8'}", f"--annotations={info}",
                 f"--output_dir={tmp_path / 'eval'}", "--batch_size=3")
    assert result.returncode == 0, result.stderr[-3000:]
    with open(tmp_path / "eval" / "results.json") as f:
        results = json.load(f)
    assert sorted(results["images"]) == sorted(os.path.splitext(n)[0] + ".png" for n in faces.names)
    assert results["average"]["num_annotated"] == len(faces.names)
