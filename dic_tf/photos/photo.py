"""Super-resolves every face of one photo (arrays in, arrays out).

For each detected face: the similarity transform from its 5 landmarks to
`template.template(hr_size)`, the HR crop sampled the official way
(`alignment.align_face`), the LR made from it with the official Pillow bicubic
(`preparation.make_lr`), DIC on the LR, and the SR face pasted back into the
photo upscaled by 8 (`paste`). A face whose crop square is smaller than the
LR size in the photo is flagged "upsampled" (its LR was upsampled from fewer
pixels); one larger than `DOWNSAMPLED_RATIO` x the LR size is flagged
"downsampled" (it is still brought to the LR size: DIC is x8 from 16x16, so
detail beyond that is not used).

Landmarks of every step the model exposes are mapped back into photo pixels:
all steps for a Keras model (a training checkpoint or an official `.pth`),
the final step only for a SavedModel (its serving signature returns that one).
"""

from typing import NamedTuple

import numpy as np

from dic_tf.data import preparation
from dic_tf.photos import alignment, paste, template
from dic_tf.utils.resize import upscale_bicubic

SCALE = preparation.SCALE
DOWNSAMPLED_RATIO = 2.0
BATCH_SIZE = 16


class FaceResult(NamedTuple):
    """One super-resolved face of a photo.

    Attributes:
        face: the `detection.Face`.
        transform: float64 `[2, 3]` photo -> crop similarity.
        crop_side: side of the crop square in photo pixels.
        flags: tuple of "upsampled" / "downsampled".
        lr: uint8 `[lr, lr, 3]`; bicubic, sr: uint8 `[8 lr, 8 lr, 3]`.
        landmarks_steps: float64 `[T, K, 2]` `(x, y)` in photo pixels, one per step exposed.

    Example:
        canvas, results = super_resolve_photo(photo, faces, predictor, 16)
        results[0].sr.shape  # (128, 128, 3)
    """

    face: object
    transform: np.ndarray
    crop_side: float
    flags: tuple
    lr: np.ndarray
    bicubic: np.ndarray
    sr: np.ndarray
    landmarks_steps: np.ndarray


def run_model(predictor, lr):
    """DIC on a batch of LR faces.

    Args:
        predictor: `dic_tf.inference.KerasPredictor` or `SavedModelPredictor`
            (or any callable with their contract: uint8 LR -> `Prediction`).
        lr: uint8 `[N, h, w, 3]` RGB.

    Returns:
        `(sr, landmarks_steps)`: uint8 `[N, 8h, 8w, 3]` (final step) and
        float64 `[T, N, K, 2]` in SR pixels (authors' peak rule), every step
        the predictor exposes.

    Example:
        >>> sr, steps = run_model(inference.KerasPredictor(model), lr)  # doctest: +SKIP
        >>> steps.shape                                                   # doctest: +SKIP
        (4, 3, 68, 2)
    """
    prediction = predictor(lr)
    return prediction.sr[-1], np.asarray(prediction.landmarks, np.float64)


def face_lr(photo, face, lr_size):
    """`(transform, crop_side, flags, lr uint8 [lr_size, lr_size, 3])` of one detected face.

    Example:
        >>> transform, side, flags, lr = face_lr(photo, faces[0], 16)  # doctest: +SKIP
    """
    hr_size = lr_size * SCALE
    transform = alignment.similarity_transform(face.points, template.template(hr_size))
    side = alignment.crop_side(transform, hr_size)
    flags = ("upsampled",) if side < lr_size else ("downsampled",) if side > DOWNSAMPLED_RATIO * lr_size else ()
    lr = preparation.make_lr(alignment.align_face(photo, transform, hr_size), SCALE)
    return transform, side, flags, lr


def super_resolve_photo(photo, faces, predictor, lr_size):
    """Super-resolves the given faces of a photo and pastes them into its x8 upscale.

    Args:
        photo: uint8 `[H, W, 3]` RGB.
        faces: list of `detection.Face`.
        predictor: see `run_model`.
        lr_size: the model's LR side.

    Returns:
        `(canvas uint8 [8H, 8W, 3], list of FaceResult)`.

    Example:
        >>> canvas, results = super_resolve_photo(photo, detector(photo), predictor, 16)  # doctest: +SKIP
    """
    aligned = [face_lr(photo, face, lr_size) for face in faces]
    results = []
    for start in range(0, len(aligned), BATCH_SIZE):
        chunk = aligned[start:start + BATCH_SIZE]
        lr = np.stack([item[3] for item in chunk])
        sr, steps = run_model(predictor, lr)
        if sr.shape[1:3] != (lr_size * SCALE, lr_size * SCALE):
            raise ValueError(
                f"The model returned SR faces of {sr.shape[1:3]} for {lr_size}x{lr_size} LR; expected x{SCALE}."
            )
        for i, (transform, side, flags, lr_face) in enumerate(chunk):
            crop_to_photo = alignment.invert(transform)
            results.append(FaceResult(
                face=faces[start + i], transform=transform, crop_side=side, flags=flags, lr=lr_face,
                bicubic=upscale_bicubic(lr_face, SCALE),
                sr=sr[i],
                landmarks_steps=alignment.apply(crop_to_photo, steps[:, i]),
            ))
    canvas = upscale_bicubic(photo, SCALE)
    for result in results:
        paste.paste_face(canvas, result.sr, result.transform, SCALE)
    return canvas, results
