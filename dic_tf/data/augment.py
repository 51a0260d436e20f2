"""The authors' training augmentations on a prepared HR face and its landmarks.

In order, as `HRLandmarkDataset` + `util_dataset.augment`: an aspect
distortion (re-crop to `height / width` drawn uniformly from a range, then
resize back), a horizontal flip with probability 1/2 (landmark indices permuted
by `FLIP_PERMUTATION_68`), and a rotation by 0, 90, 180 or 270 degrees, each
with probability 1/4.

Differences from the authors (all deliberate, for consistency):
  * the distortion re-crops the prepared 128x128 HR image rather than the
    original photo, so distorted samples are resampled twice;
  * geometry is applied to the landmarks exactly as to the image pixels
    (flip `x -> W - 1 - x` with the index permutation, rotations rotate the
    landmarks); the authors flip `x -> W - x` without permuting and never
    rotate landmarks;
  * heatmaps and LR are made after augmentation from the augmented HR and
    landmarks (`dic_tf.data.sample`), so the heatmap peaks sit at the
    augmented landmarks. Un-augmented samples equal the authors' exactly.
"""

import dataclasses

import numpy as np

from dic_tf.data import preparation

FLIP_PERMUTATION_68 = np.array(
    [16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]  # jaw
    + [26, 25, 24, 23, 22, 21, 20, 19, 18, 17]  # brows
    + [27, 28, 29, 30, 35, 34, 33, 32, 31]  # nose bridge, nose base
    + [39, 38, 37, 36, 41, 40, 45, 44, 43, 42, 47, 46]  # eyes
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]  # outer mouth
    + [64, 63, 62, 61, 60, 67, 66, 65],  # inner mouth
    dtype=np.int64,
)
"""Landmark `i` of a flipped face is landmark `FLIP_PERMUTATION_68[i]` of the original.

Exactly the authors' `_hflip_heatmap_channels` order. Note its quirk: jaw,
brows, nose base and mouth are mirrored across the face, but each eye is only
reversed in place (36-41 and 42-47 are not swapped), so after a flip the eye
channels 36-47 no longer follow the iBUG left/right convention.
"""


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Which augmentations to draw.

    Attributes:
        distort: `(low, high)` range of the crop aspect `height / width`, or
            None for no distortion.
        flip: horizontal flip with probability 1/2.
        rotate: rotation by a multiple of 90 degrees, uniformly.

    Example:
        AugmentConfig(distort=(0.66, 1.33), flip=True, rotate=True)  # = HELEN
    """

    distort: tuple = None
    flip: bool = False
    rotate: bool = False


HELEN = AugmentConfig(distort=(0.66, 1.33), flip=True, rotate=True)
"""The authors' Helen training setting (`train_DIC_Helen.json`)."""

CELEBA = AugmentConfig()
"""The authors' CelebA training setting: no augmentation."""


def hflip(image, landmarks):
    """Mirrors an image left-right and its 68 landmarks (coordinates and indices).

    Args:
        image: `[H, W, C]`.
        landmarks: `[68, 2]` `(x, y)` in pixels.

    Returns:
        `(image, landmarks)` flipped.

    Example:
        image, landmarks = hflip(image, landmarks)  # with the flip permutation
    """
    if len(landmarks) != len(FLIP_PERMUTATION_68):
        raise ValueError(f"hflip: landmarks has shape {np.shape(landmarks)}, expected (68, 2)")
    flipped = np.array(landmarks, dtype=np.float64)
    flipped[:, 0] = image.shape[1] - 1 - flipped[:, 0]
    return image[:, ::-1], flipped[FLIP_PERMUTATION_68]


def rot90(image, landmarks, k):
    """Rotates an image and its landmarks by `k * 90` degrees counter-clockwise (`np.rot90`).

    Args:
        image: `[H, W, C]`.
        landmarks: `[K, 2]` `(x, y)` in pixels.
        k: number of quarter turns.

    Returns:
        `(image, landmarks)` rotated.

    Example:
        image, landmarks = rot90(image, landmarks, 1)
    """
    points = np.array(landmarks, dtype=np.float64)
    height, width = image.shape[:2]
    for _ in range(k % 4):
        points = np.stack([points[:, 1], width - 1 - points[:, 0]], axis=1)
        height, width = width, height
    return np.rot90(image, k=k % 4, axes=(0, 1)), points


def distort_aspect(hr, landmarks, ratio):
    """The authors' aspect distortion applied to a prepared square HR image.

    Args:
        hr: uint8 `[S, S, 3]`.
        landmarks: `[K, 2]` `(x, y)` in HR pixels.
        ratio: crop `height / width` (see `preparation.distorted_box`).

    Returns:
        `(hr, landmarks)`: uint8 `[S, S, 3]` and float64 `[K, 2]`.

    Example:
        hr, landmarks = distort_aspect(hr, landmarks, 1.2)
    """
    side = hr.shape[0]
    return preparation.crop_and_resize(hr, landmarks, (0, 0, side, side), side, ratio)


def augment(hr, landmarks, config, rng):
    """Draws and applies the configured augmentations.

    Three uniforms are drawn from `rng` on every call (distortion, flip,
    rotation) whatever the config, so the stream stays aligned.

    Args:
        hr: uint8 `[S, S, 3]`.
        landmarks: `[K, 2]` `(x, y)` in HR pixels.
        config: `AugmentConfig`.
        rng: `np.random.Generator`.

    Returns:
        `(hr, landmarks)`: uint8 `[S, S, 3]` (contiguous) and float64 `[K, 2]`.

    Example:
        hr, landmarks = augment(hr, landmarks, HELEN, np.random.default_rng(0))
    """
    u_distort, u_flip, u_rotate = rng.random(3)
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if config.distort is not None:
        low, high = config.distort
        hr, landmarks = distort_aspect(hr, landmarks, u_distort * (high - low) + low)
    if config.flip and u_flip > 0.5:
        hr, landmarks = hflip(hr, landmarks)
    if config.rotate:
        k = 1 if u_rotate > 0.75 else 2 if u_rotate > 0.5 else 3 if u_rotate > 0.25 else 0
        hr, landmarks = rot90(hr, landmarks, k)
    return np.ascontiguousarray(hr), landmarks
