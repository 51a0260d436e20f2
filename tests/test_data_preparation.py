"""The official preparation against the authors' reference output (tests/fixtures/data.npz)."""

import os

import numpy as np
import pytest

from dic_tf.data import augment, heatmaps, preparation

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "data.npz")


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
