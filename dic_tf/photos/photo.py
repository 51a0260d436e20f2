"""Super-resolves every face of one photo into the photo upscaled by `upscale` (arrays in, arrays out).

For each detected face: the similarity transform from its 5 landmarks to
`template.template(128)` (the official 128-px crop) gives the face's crop
side and centre in the photo; the side picks the model
(`choice.choose_model`, or none: the face stays bicubic). The model sees a
window of the photo on its pixel grid (`window_transform`): a square of
`lr_size x 2^k` photo pixels (k the nearest whole octave from the LR size
to the face's crop side) centred on the face at whole-pixel corners, not
turned. Its LR is that window itself (k = 0), or the window resized by
exactly 2^k with Pillow's bicubic (k != 0), and the 128x128 SR face covers
the window's `window x upscale` pixels of the output, where it is pasted
as it is (`window x upscale = 128`) or after one Pillow resize, through the
feathered mask, into the photo upscaled with Pillow bicubic (`paste`). So
no pixel is interpolated at a fractional offset: on 100 held-out faces a
"model" that only bicubic-upsamples its LR gives back the bicubic photo
through this path (to 0.02 dB), where the first design, a crop turned
upright and scaled to the template exactly, lost 0.68-1.2 dB at faces of
the LR's size (docs/photos.md). The price is a face up to 2^0.5 times
larger or smaller in the LR than in the training crops, and not turned
upright (the official crops are not turned either). A face whose window
is smaller than its model's LR is flagged "upsampled".

Landmarks of every step the model exposes are mapped back into photo pixels:
all steps for a Keras model (a training checkpoint or an official `.pth`),
the final step only for a SavedModel (its serving signature returns that one).
"""

import time
from typing import NamedTuple

import numpy as np

from dic_tf.photos import alignment, choice, paste, template
from dic_tf.utils.resize import resize_bicubic, upscale_bicubic

HR_SIZE = template.TEMPLATE_HR_SIZE
BATCH_SIZE = 16
TIMING_KEYS = ("alignment_s", "sr_s", "paste_s")


class FacePlan(NamedTuple):
    """A detected face, its crop and the model chosen for it.

    Attributes:
        face: the `detection.Face`.
        transform: float64 `[2, 3]` photo -> 128-px crop: the chosen model's
            window (`window_transform`), or the face's similarity to the
            template when no model was chosen.
        crop_side: side of the face's crop square (the template's) in photo pixels.
        model: index of the chosen model, or None (the face stays bicubic).
        reason: why no model was chosen ("" when one was).

    Example:
        plans = plan_faces(faces, [16, 32], upscale=2)
        plans[0].model  # 1: the x4 model for a face of about 32 px
    """

    face: object
    transform: np.ndarray
    crop_side: float
    model: object
    reason: str


class FaceResult(NamedTuple):
    """One face of a photo after `super_resolve_photo`.

    Attributes:
        plan: its `FacePlan`.
        flags: tuple of "upsampled" (empty for a face left bicubic).
        lr: uint8 `[l, l, 3]`; bicubic, sr: uint8 `[128, 128, 3]` (the LR
            upscaled by Pillow bicubic, and the SR); None when no model ran.
        landmarks_steps: float64 `[T, K, 2]` `(x, y)` in photo pixels, one
            per step exposed; None when no model ran.

    Example:
        canvas, results = super_resolve_photo(photo, plans, predictors, 2)
        results[0].sr.shape  # (128, 128, 3)
    """

    plan: FacePlan
    flags: tuple
    lr: object
    bicubic: object
    sr: object
    landmarks_steps: object


def run_model(predictor, lr):
    """DIC on a batch of LR faces.

    Args:
        predictor: `dic_tf.inference.KerasPredictor` or `SavedModelPredictor`
            (or any callable with their contract: uint8 LR -> `Prediction`).
        lr: uint8 `[N, h, w, 3]` RGB.

    Returns:
        `(sr, landmarks_steps)`: uint8 `[N, H, W, 3]` (final step) and
        float64 `[T, N, K, 2]` in SR pixels (authors' peak rule), every step
        the predictor exposes.

    Example:
        >>> sr, steps = run_model(inference.KerasPredictor(model), lr)  # doctest: +SKIP
        >>> steps.shape                                                   # doctest: +SKIP
        (4, 3, 68, 2)
    """
    prediction = predictor(lr)
    return prediction.sr[-1], np.asarray(prediction.landmarks, np.float64)


def face_transform(face):
    """float64 `[2, 3]`: the similarity photo -> 128-px crop of a detected face.

    Example:
        >>> alignment.crop_side(face_transform(faces[0]), HR_SIZE)  # doctest: +SKIP
        23.7
    """
    return alignment.similarity_transform(face.points, template.template(HR_SIZE))


def window_transform(transform, lr_size):
    """float64 `[2, 3]` photo -> 128-px crop of the window a model of `lr_size` sees for a face.

    The window is `lr_size x 2^k` photo pixels on a side, `k = round(log2(c /
    lr_size))` for the face's crop side `c`, upright, centred on the face's
    crop square with its corner on a whole pixel.

    Args:
        transform: the face's photo -> 128-px crop similarity (`face_transform`).
        lr_size: the model's LR side.

    Example:
        >>> t = np.array([[4.0, 0, -60], [0, 4.0, -20]])   # a 32-px face at (15, 5)
        >>> window_transform(t, 32)                          # the 32 px window from (15, 5)
        array([[  4. ,   0. , -58.5],
               [  0. ,   4. , -18.5]])
    """
    side = alignment.crop_side(transform, HR_SIZE)
    centre = alignment.apply(alignment.invert(transform), np.full((1, 2), (HR_SIZE - 1) / 2))[0]
    window = lr_size * 2.0 ** choice.octave(side, lr_size)
    corner = np.round(centre + 0.5 - window / 2)  # the window's edges [corner - 0.5, corner + window - 0.5]
    scale = HR_SIZE / window
    return np.array([[scale, 0.0, (0.5 - corner[0]) * scale - 0.5], [0.0, scale, (0.5 - corner[1]) * scale - 0.5]])


def face_lr(photo, transform, lr_size):
    """uint8 `[lr_size, lr_size, 3]`: a face's LR sampled from the photo in one resampling.

    Example:
        >>> lr = face_lr(photo, face_transform(faces[0]), 16)  # doctest: +SKIP
    """
    return alignment.align_face(photo, alignment.rescale(transform, lr_size, HR_SIZE), lr_size)


def plan_faces(faces, lr_sizes, upscale, model=None, refusals=None):
    """The chosen model (`choice.choose_model`) of each face and its window (`window_transform`).

    Args:
        faces: list of `detection.Face`.
        lr_sizes: each model's LR side.
        upscale: the output photo's factor.
        model: give every face this model index instead of the rule's choice
            (for measurements, `dic_tf.photos.measurement`).
        refusals: per model, why it is never used (`model_refusals`); None: none is refused.

    Returns:
        list of `FacePlan`, in the order of `faces`.

    Example:
        >>> plans = plan_faces(detector(photo), [16], upscale=2)  # doctest: +SKIP
    """
    plans = []
    for face in faces:
        transform = face_transform(face)
        side = alignment.crop_side(transform, HR_SIZE)
        chosen, reason = ((model, "") if model is not None
                          else choice.choose_model(side, lr_sizes, upscale, refusals))
        if chosen is not None:
            transform = window_transform(transform, lr_sizes[chosen])
        plans.append(FacePlan(face, transform, side, chosen, reason))
    return plans


def model_refusals(predictors):
    """Per predictor, why it is never used ("" when it may be): `choice.validation_refusal` of its `validation`.

    Example:
        >>> model_refusals([inference.KerasPredictor(model)])  # doctest: +SKIP
        ['']
    """
    return [choice.validation_refusal(getattr(p, "validation", None)) for p in predictors]


def super_resolve_photo(photo, plans, predictors, upscale, timing=None):
    """Super-resolves the planned faces of a photo and pastes them into its bicubic upscale.

    Args:
        photo: uint8 `[H, W, 3]` RGB.
        plans: list of `FacePlan` (`plan_faces`).
        predictors: the models the plans index (see `run_model`; each with
            `lr_size` and `scale`).
        upscale: the output photo's factor.
        timing: optional dict; the seconds of `TIMING_KEYS` are added to it.

    Returns:
        `(canvas uint8 [upscale * H, upscale * W, 3], list of FaceResult)`.

    Example:
        >>> plans = plan_faces(detector(photo), [p.lr_size for p in predictors], 2)  # doctest: +SKIP
        >>> canvas, results = super_resolve_photo(photo, plans, predictors, 2)      # doctest: +SKIP
    """
    timing = {} if timing is None else timing
    for key in TIMING_KEYS:
        timing.setdefault(key, 0.0)
    start = time.perf_counter()
    lr = [None if plan.model is None else face_lr(photo, plan.transform, predictors[plan.model].lr_size)
          for plan in plans]
    timing["alignment_s"] += time.perf_counter() - start
    start = time.perf_counter()
    sr, steps = [None] * len(plans), [None] * len(plans)
    for index, predictor in enumerate(predictors):
        chosen = [i for i, plan in enumerate(plans) if plan.model == index]
        for first in range(0, len(chosen), BATCH_SIZE):
            batch = chosen[first:first + BATCH_SIZE]
            faces, landmarks = run_model(predictor, np.stack([lr[i] for i in batch]))
            expected = predictor.lr_size * predictor.scale
            if faces.shape[1:3] != (expected, expected):
                raise ValueError(f"The model returned SR faces of {faces.shape[1:3]} for {predictor.lr_size}-px "
                                 f"LR; expected x{predictor.scale}.")
            for j, i in enumerate(batch):
                sr[i], steps[i] = faces[j], landmarks[:, j]
    timing["sr_s"] += time.perf_counter() - start
    start = time.perf_counter()
    canvas = upscale_bicubic(photo, upscale)
    results = []
    for plan, lr_face, sr_face, face_steps in zip(plans, lr, sr, steps):
        if plan.model is None:
            results.append(FaceResult(plan, (), None, None, None, None))
            continue
        sr_transform = alignment.rescale(plan.transform, sr_face.shape[0], HR_SIZE)
        paste.paste_face(canvas, sr_face, sr_transform, upscale)
        flags = ("upsampled",) if HR_SIZE / alignment.scale_of(plan.transform) < lr_face.shape[0] else ()
        results.append(FaceResult(
            plan, flags, lr_face, resize_bicubic(lr_face, sr_face.shape[0]), sr_face,
            alignment.apply(alignment.invert(sr_transform), face_steps),
        ))
    timing["paste_s"] += time.perf_counter() - start
    return canvas, results
