"""Landmark extraction from heatmaps and the official landmark error measures.

Two evaluations appear in the authors' code:

* Training/validation (`SRLandmarkSolver.calc_nme`): arg-max peaks of the
  heatmaps times 4 (heatmaps are 1/4 of the image) and the mean point-to-point
  error normalised by the "inter-ocular" distance `|gt[37] - gt[46]|` (68
  points, 0-based indices as in their code) or `|gt[0] - gt[1]|` (5 points):
  `heatmap_peaks`, `peaks_to_image`, `nme`.
* Landmark-detection evaluation of SR faces (`eval_landmark.py`): the peak is
  refined by one image pixel (a quarter of a heatmap cell) towards the
  second-highest heatmap value on each axis, and the per-image RMSE
  `sqrt(mean_i |pred_i - gt_i|^2)` is normalised three ways (face width, outer
  eye width, eye distance): `refined_landmarks`, `landmark_errors`.

Heatmaps are NHWC: `(..., H, W, K)` with one channel per landmark. Points are
`(x, y)`. numpy only, vectorised.
"""

import numpy as np

HEATMAP_STRIDE = 4
NORMALIZATIONS = ("width", "eye_outer_width", "eye_dist")
# 0-based indices used by the authors' code for the 68-point (iBUG) layout.
_INTER_OCULAR_68 = (37, 46)
_INTER_OCULAR_5 = (0, 1)
_LEFT_EYE_68 = (37, 40)
_RIGHT_EYE_68 = (43, 46)


def heatmap_peaks(heatmaps):
    """Arg-max position of every heatmap channel (first maximum in row-major order).

    Args:
        heatmaps: float array `(..., H, W, K)`.

    Returns:
        int64 array `(..., K, 2)` of `(x, y)` on the heatmap grid.

    Example:
        heatmap_peaks(np.zeros((32, 32, 68), "float32")).shape  # (68, 2)
    """
    heatmaps = _check_heatmaps(heatmaps, "heatmap_peaks")
    width = heatmaps.shape[-2]
    index = np.argmax(_flatten_grid(heatmaps), axis=-1)
    return np.stack([index % width, index // width], axis=-1).astype(np.int64)


def peaks_to_image(peaks, stride=HEATMAP_STRIDE):
    """Maps grid peaks to image pixels as the authors do (`peaks * stride`).

    Args:
        peaks: array `(..., K, 2)` of `(x, y)` heatmap-grid positions.
        stride: image pixels per heatmap cell (128 / 32 = 4).

    Returns:
        array `(..., K, 2)` of `(x, y)` image positions.

    Example:
        points = peaks_to_image(heatmap_peaks(heatmaps))  # x4: image pixels
    """
    return np.asarray(peaks) * stride


def refined_landmarks(heatmaps, stride=HEATMAP_STRIDE):
    """Landmarks with the authors' sub-pixel refinement (`eval_landmark.get_peak`).

    For each channel, let `p1` be the highest and `p2` the second-highest cell
    (ties broken by row-major order). On each axis the image position is
    `p1 * stride + 1` if `p2` lies further along that axis, else
    `p1 * stride - 1` (also when `p2` shares the coordinate).

    Args:
        heatmaps: float array `(..., H, W, K)`.
        stride: image pixels per heatmap cell.

    Returns:
        int64 array `(..., K, 2)` of `(x, y)` image positions.

    Example:
        points = refined_landmarks(detector_heatmaps, stride=4)  # (N, 68, 2)
    """
    heatmaps = _check_heatmaps(heatmaps, "refined_landmarks")
    height, width = heatmaps.shape[-3:-1]
    if height * width < 2:
        raise ValueError(
            f"refined_landmarks needs at least 2 heatmap cells, got {height}x{width}."
        )
    order = np.argsort(-_flatten_grid(heatmaps), axis=-1, kind="stable")[..., :2]
    xy = np.stack([order % width, order // width], axis=-1)
    first, second = xy[..., 0, :], xy[..., 1, :]
    shift = np.where(second > first, 1, -1)
    return (first * stride + shift).astype(np.int64)


def nme(pred, gt):
    """Mean inter-ocular normalised error over all images and points (`calc_nme`).

    Args:
        pred: array `(N, K, 2)` predicted `(x, y)`, K = 68 or 5.
        gt: array `(N, K, 2)` ground-truth `(x, y)`.

    Returns:
        Python float.

    Example:
        nme(pred, gt)  # mean over images, normalised by |gt[37] - gt[46]|
    """
    return float(np.mean(nme_per_image(pred, gt)))


def nme_per_image(pred, gt):
    """Inter-ocular normalised mean error of each image.

    Args:
        pred: array `(N, K, 2)`, K = 68 or 5.
        gt: array `(N, K, 2)`.

    Returns:
        float64 array `(N,)`; its mean equals `nme(pred, gt)`.

    Example:
        nme_per_image(pred, gt).shape  # (N,)
    """
    pred, gt = _check_points(pred, gt, "nme")
    num_points = gt.shape[1]
    if num_points == 68:
        a, b = _INTER_OCULAR_68
    elif num_points == 5:
        a, b = _INTER_OCULAR_5
    else:
        raise ValueError(
            f"nme: inter-ocular normalisation is defined for 68 or 5 points, got {num_points}."
        )
    inter_ocular = np.linalg.norm(gt[:, a] - gt[:, b], axis=-1)
    errors = np.linalg.norm(pred - gt, axis=-1)
    return np.mean(errors, axis=1) / inter_ocular


def landmark_rmse(pred, gt):
    """Per-image root-mean-square point distance, `sqrt(mean_i |pred_i - gt_i|^2)`.

    Args:
        pred: array `(N, K, 2)`.
        gt: array `(N, K, 2)`.

    Returns:
        float64 array `(N,)`.

    Example:
        landmark_rmse(pred, gt).shape  # (N,), in pixels
    """
    pred, gt = _check_points(pred, gt, "landmark_rmse")
    return np.sqrt(np.mean(np.sum((pred - gt) ** 2, axis=-1), axis=1))


def landmark_errors(pred, gt):
    """The three normalised errors of the authors' landmark-detection evaluation.

    The per-image RMSE is divided by (all from the 68-point ground truth, x only):

    * "width": the face width `max(x) - min(x)`;
    * "eye_outer_width": `x[46] - x[37]`;
    * "eye_dist": `mean(x[43], x[46]) - mean(x[37], x[40])`.

    Args:
        pred: array `(N, 68, 2)` predicted image positions.
        gt: array `(N, 68, 2)` ground-truth image positions.

    Returns:
        dict mapping each name in `NORMALIZATIONS` to a float64 array `(N,)`.

    Example:
        errors = landmark_errors(pred, gt)
        sorted(errors)  # ["eye_dist", "eye_outer_width", "width"]
    """
    pred, gt = _check_points(pred, gt, "landmark_errors")
    if gt.shape[1] != 68:
        raise ValueError(
            f"landmark_errors is defined for 68-point landmarks, got {gt.shape[1]}."
        )
    rmse = landmark_rmse(pred, gt)
    x = gt[..., 0]
    width = x.max(axis=1) - x.min(axis=1)
    eye_outer_width = x[:, _INTER_OCULAR_68[1]] - x[:, _INTER_OCULAR_68[0]]
    eye_dist = x[:, list(_RIGHT_EYE_68)].mean(axis=1) - x[:, list(_LEFT_EYE_68)].mean(axis=1)
    return {
        "width": rmse / width,
        "eye_outer_width": rmse / eye_outer_width,
        "eye_dist": rmse / eye_dist,
    }


def _flatten_grid(heatmaps):
    """`(..., H, W, K)` -> `(..., K, H * W)`."""
    moved = np.moveaxis(heatmaps, -1, -3)
    return moved.reshape(moved.shape[:-2] + (-1,))


def _check_heatmaps(heatmaps, name):
    heatmaps = np.asarray(heatmaps)
    if heatmaps.ndim < 3:
        raise ValueError(
            f"{name} expects NHWC heatmaps (..., H, W, K), got shape {heatmaps.shape}."
        )
    return heatmaps


def _check_points(pred, gt, name):
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if gt.ndim != 3 or gt.shape[-1] != 2:
        raise ValueError(f"{name}: gt must have shape (N, K, 2), got {gt.shape}.")
    if pred.shape != gt.shape:
        raise ValueError(f"{name}: pred shape {pred.shape} does not match gt shape {gt.shape}.")
    return pred, gt
