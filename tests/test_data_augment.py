"""Augmentations move image, landmarks and heatmaps together."""

import numpy as np
import pytest

from dic_tf.data import augment, sample


def _random_face(seed, size=128):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    landmarks = rng.integers(2, size - 2, (68, 2)).astype(np.float64)
    return image, landmarks


def _pixels(image, landmarks):
    points = np.round(landmarks).astype(int)
    return image[points[:, 1], points[:, 0]]


def test_hflip_moves_content_with_landmarks():
    image, landmarks = _random_face(0)
    flipped, moved = augment.hflip(image, landmarks)
    np.testing.assert_array_equal(_pixels(flipped, moved), _pixels(image, landmarks)[augment.FLIP_PERMUTATION_68])


def test_hflip_twice_is_identity():
    image, landmarks = _random_face(1)
    twice, back = augment.hflip(*augment.hflip(image, landmarks))
    np.testing.assert_array_equal(twice, image)
    np.testing.assert_array_equal(back, landmarks)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_rot90_moves_content_with_landmarks(k):
    image, landmarks = _random_face(2)
    rotated, moved = augment.rot90(image, landmarks, k)
    np.testing.assert_array_equal(_pixels(rotated, moved), _pixels(image, landmarks))


def test_rot90_on_non_square_images():
    image = np.random.default_rng(3).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    landmarks = np.array([[0.0, 0.0], [29.0, 5.0], [7.0, 19.0]])
    for k in range(4):
        rotated, moved = augment.rot90(image, landmarks, k)
        np.testing.assert_array_equal(_pixels(rotated, moved), _pixels(image, landmarks))


def test_four_quarter_turns_are_identity():
    image, landmarks = _random_face(4)
    rotated, moved = image, landmarks
    for _ in range(4):
        rotated, moved = augment.rot90(rotated, moved, 1)
    np.testing.assert_array_equal(rotated, image)
    np.testing.assert_allclose(moved, landmarks, atol=0)


@pytest.mark.parametrize("ratio", [0.7, 1.3])
def test_distortion_moves_content_with_landmarks(ratio):
    size = 128
    landmarks = np.random.default_rng(5).uniform(30, 98, (68, 2))
    yy, xx = np.mgrid[0:size, 0:size]
    x0, y0 = landmarks[30]
    image = np.repeat((255 * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / 50.0))[..., None], 3, axis=2).astype(np.uint8)
    distorted, moved = augment.distort_aspect(image, landmarks, ratio)
    assert distorted.shape == image.shape
    row, col = np.unravel_index(np.argmax(distorted[:, :, 0].astype(int)), (size, size))
    assert abs(col - moved[30, 0]) <= 1.0 and abs(row - moved[30, 1]) <= 1.0
    assert not np.allclose(moved, landmarks)


def test_heatmap_peaks_follow_augmented_landmarks():
    image, landmarks = _random_face(6)
    landmarks = np.random.default_rng(6).uniform(8, 120, (68, 2))
    seen_flips, seen_turns = set(), set()
    for seed in range(24):
        rng = np.random.default_rng(seed)
        hr, lr, maps, moved = sample.make_sample(image, landmarks, augment.HELEN, rng)
        assert hr.shape == (128, 128, 3) and lr.shape == (16, 16, 3) and maps.shape == (32, 32, 68)
        inside = np.all((moved / 4 > -0.5) & (moved / 4 < 31.5), axis=1)
        assert inside.sum() > 50
        flat = maps.reshape(-1, 68).argmax(axis=0)
        peaks = np.stack([flat % 32, flat // 32], axis=1)
        np.testing.assert_array_equal(peaks[inside], np.round(moved[inside] / 4).astype(int))
        u = np.random.default_rng(seed).random(3)
        seen_flips.add(u[1] > 0.5)
        seen_turns.add(int(u[2] * 4))
    assert seen_flips == {False, True} and seen_turns == {0, 1, 2, 3}


def test_augment_is_seeded():
    image, landmarks = _random_face(7)
    first = augment.augment(image, landmarks, augment.HELEN, np.random.default_rng(11))
    second = augment.augment(image, landmarks, augment.HELEN, np.random.default_rng(11))
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_no_augmentation_keeps_the_sample():
    image, landmarks = _random_face(8)
    hr, moved = augment.augment(image, landmarks, augment.CELEBA, np.random.default_rng(0))
    np.testing.assert_array_equal(hr, image)
    np.testing.assert_array_equal(moved, landmarks)
