"""Scores the faces of `--photos` output photos against the same photos at the higher resolution.

For one annotated face picture (a source photo, its 68 landmarks and the
official crop box of side `B` pixels), one face size `s` and one upscale `U`:

* the truth is the source resized (Pillow bicubic, antialiased) so that the
  crop box is `s x U` pixels; cells with `s x U > B` are left out (the truth
  would be an enlargement, not a photo at a higher resolution);
* the input photo is the truth shrunk by exactly `U` (`Degradation`: Pillow
  bicubic by default, the models' training condition; or another resampler,
  then blur, noise and a JPEG round trip), so its crop box is about `s` px;
* the faces are planned from the annotated landmarks (their 5 template
  points, in place of MTCNN's, so the table measures super-resolution and
  not detection) and run through `photo.super_resolve_photo`, the code of
  `predict.py --photos`: once with each model forced, once with
  `choice.choose_model` choosing (the product);
* PSNR / official SSIM on Y (no border cropped) of the crop box region of
  the output photo against the truth, and of the Pillow bicubic upscale
  of the input (the baseline).

`scripts/measure_photo_faces.py` runs it on held-out faces and prints the
tables of docs/photos.md.

Example:
    pair = photo_pair(image, landmarks, bbox, face_side=16, upscale=4)
    scores = score_pair(pair, predictors, upscale=4)
    scores["bicubic"], scores["models"], scores["chosen"]
"""

from collections import Counter
from typing import NamedTuple

import numpy as np

from dic_tf.metrics import image_quality
from dic_tf.photos import detection, photo, template
from dic_tf.utils import image_files, resize


class Degradation(NamedTuple):
    """How the input photo is made from the truth, in this order.

    Attributes:
        resampler: a key of `dic_tf.utils.resize.RESAMPLERS` for the shrink by `U`.
        blur: sigma (input pixels) of a Gaussian blur after the shrink; 0 for none.
        noise: sigma (of 255) of Gaussian noise added after the blur; 0 for none.
        jpeg_quality: JPEG round trip at this quality (4:2:0), or None (lossless).

    Example:
        Degradation("lanczos", blur=0.5, noise=4, jpeg_quality=75).label()  # 'lanczos, blur 0.5, ...'
    """

    resampler: str = "bicubic"
    blur: float = 0.0
    noise: float = 0.0
    jpeg_quality: object = None

    def label(self):
        """A short name, e.g. "bicubic" or "area, JPEG 30"."""
        parts = [self.resampler]
        parts += [f"blur {self.blur:g}"] if self.blur else []
        parts += [f"noise {self.noise:g}/255"] if self.noise else []
        parts += [f"JPEG {self.jpeg_quality}"] if self.jpeg_quality is not None else []
        return ", ".join(parts)


CLEAN = Degradation()
UNSEEN_GRID = (
    (CLEAN,)
    + tuple(Degradation(resampler) for resampler in ("area", "bilinear", "lanczos"))
    + tuple(Degradation(blur=sigma) for sigma in (0.5, 1.0, 1.5))
    + tuple(Degradation(noise=sigma) for sigma in (2.0, 4.0, 8.0))
    + tuple(Degradation(jpeg_quality=quality) for quality in (30, 50, 75, 95))
)
"""Issue 34's grid of degradations no training used, one factor at a time around the clean input."""


class PhotoPair(NamedTuple):
    """An input photo, its truth at `U` times the resolution and where the face lies.

    Attributes:
        photo: uint8 `[n, n, 3]`, the input.
        truth: uint8 `[n U, n U, 3]`.
        face: `detection.Face` in input pixels (points: the annotated landmarks' 5 template points).
        region: `(x0, y0, x1, y1)` integers: the crop box in truth pixels (side about `s x U`).
    """

    photo: np.ndarray
    truth: np.ndarray
    face: detection.Face
    region: tuple


def gaussian_blur(image, sigma):
    """uint8 `[H, W, 3]` blurred by a separable Gaussian of `sigma` pixels (reflected edges, 3-sigma taps).

    Example:
        >>> gaussian_blur(np.full((8, 8, 3), 7, np.uint8), 1.0)[0, 0].tolist()
        [7, 7, 7]
    """
    radius = max(1, int(np.ceil(3 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    out = image.astype(np.float64)
    for axis in (0, 1):
        pad = [(0, 0)] * 3
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="reflect")
        length = out.shape[axis]
        out = sum(t * np.take(padded, np.arange(i, i + length), axis=axis) for i, t in enumerate(taps))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def degrade(truth, size, degradation, rng):
    """The input photo: `truth` shrunk to `size` and degraded as `degradation` says.

    Args:
        truth: uint8 `[S, S, 3]`.
        size: the input's side.
        degradation: a `Degradation`.
        rng: `np.random.Generator` for the noise.

    Returns:
        uint8 `[size, size, 3]`.

    Example:
        >>> degrade(np.zeros((32, 32, 3), np.uint8), 8, CLEAN, np.random.default_rng(0)).shape
        (8, 8, 3)
    """
    image = resize.resize_with(truth, size, degradation.resampler)
    if degradation.blur:
        image = gaussian_blur(image, degradation.blur)
    if degradation.noise:
        noisy = image + rng.normal(0.0, degradation.noise, image.shape)
        image = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    if degradation.jpeg_quality is not None:
        image = image_files.jpeg_round_trip(image, degradation.jpeg_quality)
    return image


def photo_pair(image, landmarks, bbox, face_side, upscale, degradation=CLEAN, rng=None):
    """The input photo and its truth for a face of `face_side` px at `upscale`, or None when out of range.

    Args:
        image: uint8 `[W, W, 3]` square source picture.
        landmarks: float `[68, 2]` `(x, y)` in source pixels (pixel centres at integers).
        bbox: `(xmin, ymin, xmax, ymax)`, the official crop box (a square).
        face_side: `s`, the crop box's side in the input photo (about; the input side is rounded).
        upscale: `U`.
        degradation: how the input is made from the truth.
        rng: `np.random.Generator` (default: seeded with 0).

    Returns:
        `PhotoPair`, or None when `face_side * upscale` exceeds the box side `B`.

    Example:
        >>> pair = photo_pair(image, landmarks, bbox, 16, 4)  # doctest: +SKIP
        >>> pair.photo.shape, pair.truth.shape                 # doctest: +SKIP
        ((24, 24, 3), (96, 96, 3))
    """
    height, width = image.shape[:2]
    if height != width:
        raise ValueError(f"photo_pair: the source picture is {width}x{height}; expected a square.")
    box_side = bbox[2] - bbox[0]
    if face_side * upscale > box_side:
        return None
    size = int(round(width * face_side / box_side))
    truth = resize.resize_bicubic(image, size * upscale)
    rng = np.random.default_rng(0) if rng is None else rng
    small = degrade(truth, size, degradation, rng)
    factor = size / width
    points = (template.five_points(landmarks) + 0.5) * factor - 0.5
    box = np.asarray(bbox, np.float64) * factor
    region = tuple(int(round(v * factor * upscale)) for v in bbox)
    return PhotoPair(small, truth, detection.Face(box, points, 1.0), region)


def region_scores(image, truth, region):
    """`(PSNR dB, official SSIM)` on Y of `region` of `image` against `truth` (no border cropped).

    Example:
        psnr, ssim = region_scores(canvas, pair.truth, pair.region)
    """
    x0, y0, x1, y1 = region
    a, b = image[y0:y1, x0:x1], truth[y0:y1, x0:x1]
    return image_quality.psnr_y(a, b, border=0), image_quality.ssim_y(a, b, border=0)


def score_pair(pair, predictors, upscale, refusals=None):
    """Bicubic, each model forced, and the model `choice.choose_model` picks, on one `PhotoPair`.

    Args:
        pair: a `PhotoPair`.
        predictors: models with `lr_size` and `scale` (`photo.run_model`).
        upscale: `U`.
        refusals: `photo.model_refusals(predictors)`, when the caller has it (None: computed).

    Returns:
        dict: "bicubic": (psnr, ssim); "models": [(psnr, ssim)] per predictor;
        "chosen": the index `choice.choose_model` picks (a model not above
        bicubic on its validation never: `photo.model_refusals`), or None (bicubic kept);
        "crop_side": the face's crop side from its 5 points.

    Example:
        >>> score_pair(pair, [x8, x4, x2], 4)["chosen"]  # doctest: +SKIP
        1
    """
    lr_sizes = [p.lr_size for p in predictors]
    if refusals is None:
        refusals = photo.model_refusals(predictors)
    (plan,) = photo.plan_faces([pair.face], lr_sizes, upscale, refusals=refusals)
    models = []
    for index in range(len(predictors)):
        forced = photo.plan_faces([pair.face], lr_sizes, upscale, model=index)
        canvas, _ = photo.super_resolve_photo(pair.photo, forced, predictors, upscale)
        models.append(region_scores(canvas, pair.truth, pair.region))
    bicubic = region_scores(resize.upscale_bicubic(pair.photo, upscale), pair.truth, pair.region)
    return {"bicubic": bicubic, "models": models, "chosen": plan.model, "crop_side": plan.crop_side}


def summarize(scores, num_models):
    """Means over faces of a cell's `score_pair` results.

    Returns:
        dict: "faces"; "bicubic", "chosen" and each of "models": {"psnr", "ssim"}
        (mean over faces); each model's "above_bicubic" (fraction of faces
        with a higher PSNR); "chosen_counts": faces per model index (str) or
        "bicubic".

    Example:
        >>> summarize([score_pair(pair, predictors, 4)], 3)["chosen"]  # doctest: +SKIP
        {'psnr': 25.1, 'ssim': 0.71}
    """
    def mean(pairs):
        pairs = np.asarray(pairs, np.float64)
        return {"psnr": float(pairs[:, 0].mean()), "ssim": float(pairs[:, 1].mean())}

    bicubic = [s["bicubic"] for s in scores]
    chosen = [s["bicubic"] if s["chosen"] is None else s["models"][s["chosen"]] for s in scores]
    counts = dict(Counter("bicubic" if s["chosen"] is None else str(s["chosen"]) for s in scores))
    models = []
    for index in range(num_models):
        pairs = [s["models"][index] for s in scores]
        wins = np.mean([m[0] > b[0] for m, b in zip(pairs, bicubic)])
        models.append({**mean(pairs), "above_bicubic": float(wins)})
    return {"faces": len(scores), "bicubic": mean(bicubic), "chosen": mean(chosen), "models": models,
            "chosen_counts": counts, "crop_side": float(np.mean([s["crop_side"] for s in scores]))}


def measure_cell(faces, predictors, face_side, upscale, degradation=CLEAN, seed=0):
    """`summarize` of one (face size, upscale, degradation) cell over annotated faces, or None when out of range.

    Args:
        faces: iterable of `(image, landmarks, bbox)`.
        predictors, face_side, upscale, degradation: see `photo_pair` and `score_pair`.
        seed: the noise seed (one generator for the cell, faces in order).

    Example:
        >>> measure_cell(faces, [x8, x4, x2], 16, 4)["chosen"]  # doctest: +SKIP
    """
    rng = np.random.default_rng(seed)
    refusals = photo.model_refusals(predictors)
    scores = []
    for image, landmarks, bbox in faces:
        pair = photo_pair(image, landmarks, bbox, face_side, upscale, degradation, rng)
        if pair is None:
            return None
        scores.append(score_pair(pair, predictors, upscale, refusals))
    return summarize(scores, len(predictors))

