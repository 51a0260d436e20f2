"""`ImageRecord`: what the report shows about one test image, checked on creation."""

import dataclasses
from typing import Mapping, Optional, Sequence

import numpy as np

COMPONENTS = ("left eye", "right eye", "nose", "mouth", "contour")


@dataclasses.dataclass
class ImageRecord:
    """Everything the report shows about one test image.

    Attributes:
        name: file name of the image (unique within a report).
        lr: uint8 `(h, w, 3)` low-resolution input.
        hr: uint8 `(H, W, 3)` ground truth.
        sr_steps: T uint8 `(H, W, 3)` outputs, one per step (last = final).
        metrics: T mappings metric name -> value, one per step (e.g.
            `{"psnr": 27.1, "ssim": 0.80}`); every step has the same keys.
        bicubic: optional uint8 `(H, W, 3)` bicubic upscaling of `lr`.
        bicubic_metrics: optional mapping metric name -> value for `bicubic`.
        landmarks: optional T float `(K, 2)` `(x, y)` image positions, drawn on
            the SR of the same step.
        gt_landmarks: optional float `(K, 2)` ground-truth positions, drawn on HR.
        attention: optional T entries, each None (a step without attention,
            e.g. DIC's first) or float `(h', w', 5)` component maps (left eye,
            right eye, nose, mouth, contour), any resolution.
        saliency: optional mapping target label -> float `(h, w)` map over the
            LR pixels, drawn over the LR.

    Example:
        record = ImageRecord("a.png", lr, hr, sr_steps=[sr], metrics=[{"psnr": 27.1}])
    """

    name: str
    lr: np.ndarray
    hr: np.ndarray
    sr_steps: Sequence[np.ndarray]
    metrics: Sequence[Mapping[str, float]]
    bicubic: Optional[np.ndarray] = None
    bicubic_metrics: Optional[Mapping[str, float]] = None
    landmarks: Optional[Sequence[np.ndarray]] = None
    gt_landmarks: Optional[np.ndarray] = None
    attention: Optional[Sequence[Optional[np.ndarray]]] = None
    saliency: Optional[Mapping[str, np.ndarray]] = None

    def __post_init__(self):
        check_rgb(self.lr, f"{self.name}: lr")
        check_rgb(self.hr, f"{self.name}: hr")
        size = self.hr.shape
        if not self.sr_steps:
            raise ValueError(f"{self.name}: sr_steps is empty; expected one image per step.")
        for step, sr in enumerate(self.sr_steps, start=1):
            check_rgb(sr, f"{self.name}: sr_steps[{step - 1}]", size)
        if self.bicubic is not None:
            check_rgb(self.bicubic, f"{self.name}: bicubic", size)
        num_steps = len(self.sr_steps)
        check_per_step(self.metrics, num_steps, f"{self.name}: metrics")
        keys = set(self.metrics[0])
        for step, values in enumerate(self.metrics):
            if set(values) != keys:
                raise ValueError(
                    f"{self.name}: metrics[{step}] has keys {sorted(values)}, "
                    f"metrics[0] has {sorted(keys)}."
                )
        if self.landmarks is not None:
            check_per_step(self.landmarks, num_steps, f"{self.name}: landmarks")
            for step, points in enumerate(self.landmarks):
                check_points(points, f"{self.name}: landmarks[{step}]")
        if self.gt_landmarks is not None:
            check_points(self.gt_landmarks, f"{self.name}: gt_landmarks")
        if self.attention is not None:
            check_per_step(self.attention, num_steps, f"{self.name}: attention")
            for step, maps in enumerate(self.attention):
                if maps is None:
                    continue
                if np.ndim(maps) != 3 or np.shape(maps)[-1] != len(COMPONENTS):
                    raise ValueError(
                        f"{self.name}: attention[{step}] must have shape "
                        f"(h, w, {len(COMPONENTS)}) or be None, got {np.shape(maps)}."
                    )
        for label, heat in (self.saliency or {}).items():
            if np.shape(heat) != self.lr.shape[:2]:
                raise ValueError(
                    f"{self.name}: saliency[{label!r}] must have the LR shape "
                    f"{self.lr.shape[:2]}, got {np.shape(heat)}."
                )

    @property
    def num_steps(self):
        return len(self.sr_steps)


def average_metrics(records):
    """Mean of every metric per row ("bicubic" if every record has it, then steps).

    Returns:
        dict row label -> dict metric name -> float, rows in display order.

    Example:
        average_metrics(records)  # {"bicubic": {...}, "step 1": {...}, ...}
    """
    rows = {}
    if all(r.bicubic_metrics is not None for r in records):
        keys = list(records[0].bicubic_metrics)
        rows["bicubic"] = {
            k: float(np.mean([r.bicubic_metrics[k] for r in records])) for k in keys
        }
    for step in range(records[0].num_steps):
        keys = list(records[0].metrics[step])
        rows[f"step {step + 1}"] = {
            k: float(np.mean([r.metrics[step][k] for r in records])) for k in keys
        }
    return rows


def check_rgb(image, label, size=None):
    """Raises unless `image` is a uint8 `(H, W, 3)` array (of shape `size` when given).

    Example:
        check_rgb(np.zeros((4, 4, 3), np.uint8), "hr")  # passes; float32 raises TypeError
    """
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise TypeError(f"{label} must be a uint8 numpy array, got {type(image).__name__} "
                        f"{getattr(image, 'dtype', '')}.")
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"{label} must have shape (H, W, 3), got {image.shape}.")
    if size is not None and image.shape != size:
        raise ValueError(f"{label} has shape {image.shape}, expected the HR shape {size}.")


def check_per_step(values, num_steps, label):
    """Raises unless `values` has one entry per step.

    Example:
        check_per_step([m1, m2], 2, "a.png: metrics")  # passes
    """
    if len(values) != num_steps:
        raise ValueError(f"{label} has {len(values)} entries, expected one per step ({num_steps}).")


def check_points(points, label):
    """Raises unless `points` is `(K, 2)` of `(x, y)`.

    Example:
        check_points(np.zeros((68, 2)), "gt")  # passes
    """
    if np.ndim(points) != 2 or np.shape(points)[-1] != 2:
        raise ValueError(f"{label} must have shape (K, 2) of (x, y), got {np.shape(points)}.")
