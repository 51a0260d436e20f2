"""The official crop + resize recipe (numpy and Pillow only, no TensorFlow).

As the authors' `HRLandmarkDataset`: crop `image[ymin:ymax, xmin:xmax]`
(images read upright by `dic_tf.utils.image_files.read_rgb`), resize to
`hr_size` with Pillow bicubic (`dic_tf.utils.resize`), make the LR by resizing
that HR image again with Pillow bicubic, scale landmarks by `hr_size / crop side` after
subtracting the crop origin, and draw Gaussian heatmaps at `hr_size // 4`.
"""

import numpy as np

from dic_tf.data import heatmaps as heatmaps_lib
from dic_tf.utils.resize import resize_bicubic

HR_SIZE = 128
SCALE = 8
HEATMAP_SIZE = 32
SIGMA = 1.0


def distorted_box(landmarks, bbox, ratio):
    """The authors' aspect-distortion crop box.

    Shrinks the square `bbox` along one axis so that the crop has aspect
    `height / width = ratio` (clipped so the landmarks' extent still fits),
    keeping the landmarks centred where the box allows.

    Args:
        landmarks: `[K, 2]` `(x, y)`.
        bbox: `(xmin, ymin, xmax, ymax)` ints.
        ratio: requested `height / width` of the crop; 1 keeps `bbox`.

    Returns:
        `(xmin, ymin, xmax, ymax)` ints.

    Example:
        box = distorted_box(landmarks, bbox, 1.2)
    """
    xmin, ymin, xmax, ymax = bbox
    if ratio == 1:
        return bbox
    landmarks = np.asarray(landmarks, dtype=np.float64)
    width, height = landmarks.max(axis=0) - landmarks.min(axis=0)
    xmean, ymean = 0.5 * (landmarks.max(axis=0) + landmarks.min(axis=0))
    side = xmax - xmin
    ratio = np.clip(ratio, height / side, side / width)
    if ratio < 1:
        new_h = side * ratio
        if ymean - 0.5 * new_h < ymin:
            ymax = ymin + int(new_h)
        elif ymean + 0.5 * new_h > ymax:
            ymin = ymax - int(new_h)
        else:
            ymin, ymax = int(ymean - 0.5 * new_h), int(ymean + 0.5 * new_h)
    else:
        new_w = side / ratio
        if xmean - 0.5 * new_w < xmin:
            xmax = xmin + int(new_w)
        elif xmean + 0.5 * new_w > xmax:
            xmin = xmax - int(new_w)
        else:
            xmin, xmax = int(xmean - 0.5 * new_w), int(xmean + 0.5 * new_w)
    return xmin, ymin, xmax, ymax


def crop_and_resize(image, landmarks, bbox, hr_size=HR_SIZE, distort_ratio=1.0):
    """Crops a face and resizes it to the HR size, moving the landmarks along.

    Args:
        image: uint8 `[H, W, 3]` RGB.
        landmarks: `[K, 2]` `(x, y)` in image pixels.
        bbox: `(xmin, ymin, xmax, ymax)` ints inside the image.
        hr_size: output side.
        distort_ratio: crop aspect `height / width` (see `distorted_box`).

    Returns:
        `(hr, landmarks_hr)`: uint8 `[hr_size, hr_size, 3]` and float64 `[K, 2]`.

    Example:
        hr, landmarks = crop_and_resize(image, landmarks, bbox)
    """
    xmin, ymin, xmax, ymax = distorted_box(landmarks, bbox, distort_ratio)
    hr = resize_bicubic(image[ymin:ymax, xmin:xmax], hr_size)
    scale = np.array([hr_size / (xmax - xmin), hr_size / (ymax - ymin)])
    landmarks_hr = (np.asarray(landmarks, dtype=np.float64) - np.array([xmin, ymin])) * scale
    return hr, landmarks_hr


def make_lr(hr, scale=SCALE):
    """The official LR of an HR image: Pillow bicubic down by `scale`.

    Args:
        hr: uint8 `[S, S, 3]` with `S` divisible by `scale`.
        scale: downscaling factor.

    Returns:
        uint8 `[S / scale, S / scale, 3]`.

    Example:
        make_lr(np.zeros((128, 128, 3), np.uint8)).shape  # (16, 16, 3)
    """
    side = hr.shape[0]
    if hr.shape[0] != hr.shape[1] or side % scale:
        raise ValueError(f"make_lr: hr has shape {hr.shape}, expected square [S, S, 3] with S divisible by {scale}")
    return resize_bicubic(hr, side // scale)


def prepare_example(image, landmarks, bbox, hr_size=HR_SIZE, scale=SCALE, heatmap_size=HEATMAP_SIZE, sigma=SIGMA):
    """Full official preparation of one annotated face.

    Args:
        image: uint8 `[H, W, 3]` RGB.
        landmarks: `[K, 2]` `(x, y)` in image pixels.
        bbox: `(xmin, ymin, xmax, ymax)` ints.
        hr_size: HR side.
        scale: HR / LR side ratio.
        heatmap_size: heatmap side.
        sigma: heatmap Gaussian sigma in heatmap pixels.

    Returns:
        dict with `hr` uint8 `[hr_size, hr_size, 3]`, `lr` uint8
        `[hr_size / scale, hr_size / scale, 3]`, `landmarks` float64 `[K, 2]`
        in HR pixels and `heatmaps` float32 `[heatmap_size, heatmap_size, K]`.

    Example:
        hr, lr, heatmaps, landmarks = prepare_example(image, landmarks, bbox)
    """
    hr, landmarks_hr = crop_and_resize(image, landmarks, bbox, hr_size)
    return {
        "hr": hr,
        "lr": make_lr(hr, scale),
        "landmarks": landmarks_hr,
        "heatmaps": heatmaps_lib.gaussian_heatmaps(landmarks_hr, heatmap_size, hr_size / heatmap_size, sigma),
    }
