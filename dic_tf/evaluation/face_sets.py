"""The faces of a model-mode test set: HR, its LR and optional ground-truth landmarks.

The LR of a face is read from a paired folder, made with the official
preparation (Pillow bicubic), or made by a seeded degradation
(`dic_tf.data.degradation`) whose random draws depend only on the seed and the
HR file name (`degraded_lr`); `save_lr_faces` writes the LR that was scored.
"""

import dataclasses
import os
import zlib
from typing import Optional

import numpy as np

from dic_tf.data import annotations as annotations_lib
from dic_tf.data import degradation as degradation_lib
from dic_tf.data import preparation
from dic_tf.models.dic_config import SR_SIZE_MULTIPLE
from dic_tf.utils.image_files import (
    IMAGE_EXTENSIONS,
    file_stem,
    list_images,
    match_files,
    read_rgb,
    size_text,
    write_png,
)


@dataclasses.dataclass
class TestImage:
    """One test face.

    Attributes:
        name: HR file name (the key in `results.json`).
        hr: uint8 `(H, W, 3)` ground truth.
        lr: uint8 `(H / scale, W / scale, 3)` model input.
        lr_file: LR file name, or None when the LR was made from the HR.
        landmarks: optional float64 `(K, 2)` ground-truth `(x, y)` in HR pixels.

    Example:
        TestImage("a.png", hr, lr)  # no LR file, no landmarks
    """

    name: str
    hr: np.ndarray
    lr: np.ndarray
    lr_file: Optional[str] = None
    landmarks: Optional[np.ndarray] = None


def landmarks_in_hr_frame(face, hr_shape):
    """Maps an annotation's landmarks into the prepared HR image.

    As the official preparation (`dic_tf.data.preparation.crop_and_resize`):
    subtract the crop origin, scale by HR side / crop side on each axis.

    Args:
        face: `dic_tf.data.annotations.FaceAnnotation` (original-image pixels).
        hr_shape: `(H, W, ...)` of the prepared HR image.

    Returns:
        float64 `(K, 2)` `(x, y)` in HR pixels.

    Example:
        points = landmarks_in_hr_frame(face, hr.shape)  # (68, 2) in HR pixels
    """
    xmin, ymin, xmax, ymax = face.bbox
    height, width = hr_shape[:2]
    factor = np.array([width / (xmax - xmin), height / (ymax - ymin)])
    return (np.asarray(face.landmarks, np.float64) - np.array([xmin, ymin])) * factor


def load_test_set(hr_dir, lr_dir=None, scale=8, annotations_path=None, num_keypoints=68,
                  degradation=None, degradation_seed=0):
    """Reads and checks a test set.

    Args:
        hr_dir: folder of prepared HR faces.
        lr_dir: optional folder of LR faces paired with `hr_dir` by file name;
            without it the LR is made from the HR: with the official
            preparation (Pillow bicubic down by `scale`), or by `degradation`.
        scale: HR / LR side ratio.
        annotations_path: optional info `.json`/`.pkl` (see
            `dic_tf.data.annotations`); faces match images by file stem and
            their landmarks are mapped into the HR frame through their bbox.
        num_keypoints: landmarks per annotated face.
        degradation: optional `dic_tf.data.degradation.RealDegradation`
            making the LR instead of the official preparation (see
            `degraded_lr`); not with `lr_dir`.
        degradation_seed: int >= 0, seed of `degradation`.

    Returns:
        `(list of TestImage, sorted HR names without an LR counterpart)`.

    Raises:
        FileNotFoundError, ValueError: naming the file and the sizes involved.

    Example:
        test_set, unmatched = load_test_set("data/test/HR", annotations_path="data/test/info.pkl")
        degraded, _ = load_test_set("data/test/HR", degradation=RealDegradation(), degradation_seed=3)
    """
    if lr_dir and degradation is not None:
        raise ValueError("load_test_set: the LR is read from lr_dir or made by degradation, "
                         "not both.")
    hr_names = list_images(hr_dir)
    if not hr_names:
        raise FileNotFoundError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) in {hr_dir!r}.")
    if lr_dir:
        lr_names = list_images(lr_dir)
        if not lr_names:
            raise FileNotFoundError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) in {lr_dir!r}.")
        pairs, unmatched = match_files(lr_names, hr_names, lr_dir, hr_dir)
    else:
        pairs, unmatched = [(None, name) for name in hr_names], []
    _check_unique_stems([hr_name for _, hr_name in pairs], hr_dir)
    test_set = []
    for lr_name, hr_name in pairs:
        hr_path = os.path.join(hr_dir, hr_name)
        hr = read_rgb(hr_path)
        if lr_name is None:
            _check_hr_for_made_lr(hr, hr_path, scale)
            if degradation is None:
                lr = preparation.make_lr(hr, scale)
            else:
                lr = degraded_lr(hr, hr_name, scale, degradation, degradation_seed)
        else:
            lr = read_rgb(os.path.join(lr_dir, lr_name))
            _check_pair(lr, hr, os.path.join(lr_dir, lr_name), hr_path, scale)
        if test_set and hr.shape != test_set[0].hr.shape:
            first = os.path.join(hr_dir, test_set[0].name)
            raise ValueError(
                f"{hr_path!r} is {size_text(hr)} but {first!r} is {size_text(test_set[0].hr)} "
                "(width x height); every test image must have the same size (the model "
                "runs in batches)."
            )
        test_set.append(TestImage(hr_name, hr, lr, lr_name))
    if annotations_path:
        _attach_landmarks(test_set, annotations_path, num_keypoints)
    return test_set, unmatched


def degraded_lr(hr, hr_name, scale, degradation, seed=0):
    """The LR of one HR face made by a seeded degradation; the same bytes on every run.

    The random generator is `np.random.default_rng([seed, crc32(hr_name)])`
    (UTF-8 name), so a face's LR depends only on the seed, its file name and
    its pixels, not on the other faces of the folder or their order.

    Args:
        hr: uint8 `(S, S, 3)` HR face.
        hr_name: its file name (no folder), e.g. "000001.png".
        scale: HR / LR side ratio.
        degradation: `dic_tf.data.degradation.RealDegradation`; None gives the
            official preparation (no random draws).
        seed: int >= 0.

    Returns:
        uint8 `(S / scale, S / scale, 3)`.

    Example:
        lr = degraded_lr(hr, "000001.png", 8, RealDegradation(), seed=3)  # uint8 (16, 16, 3)
    """
    rng = np.random.default_rng([seed, zlib.crc32(hr_name.encode("utf-8"))])
    return degradation_lib.make_lr(hr, scale, degradation, rng)


def save_lr_faces(test_set, folder):
    """Writes each face's LR as `<folder>/<HR stem>.png` (lossless), never replacing a file.

    Each PNG is written atomically; the folder is created if needed. Reading
    the folder back as `load_test_set(hr_dir, lr_dir=folder)` gives the same
    LR arrays (pairing by stem).

    Returns:
        The written file names, in test-set order.

    Raises:
        FileExistsError: a file of that name exists (it is left as it was).

    Example:
        save_lr_faces(test_set, "runs/eval_real/lr")  # ["000001.png", ...]
    """
    os.makedirs(folder, exist_ok=True)
    names = []
    for item in test_set:
        name = f"{file_stem(item.name)}.png"
        write_png(os.path.join(folder, name), item.lr)
        names.append(name)
    return names


def _check_hr_for_made_lr(hr, hr_path, scale):
    height, width = hr.shape[:2]
    if height != width or height % SR_SIZE_MULTIPLE:
        raise ValueError(
            f"HR image {hr_path!r} is {size_text(hr)} (width x height): without --lr_dir the "
            "LR is made from the HR (the official preparation or --degradation), which "
            f"needs square HR images whose side is a multiple of {SR_SIZE_MULTIPLE} "
            f"(LR side a multiple of {SR_SIZE_MULTIPLE // scale} for DIC x{scale})."
        )


def _check_pair(lr, hr, lr_path, hr_path, scale):
    expected = (lr.shape[0] * scale, lr.shape[1] * scale, 3)
    if hr.shape != expected:
        raise ValueError(
            f"Size mismatch: LR {lr_path!r} is {size_text(lr)}, so x{scale} its HR should be "
            f"{expected[1]}x{expected[0]}, but HR {hr_path!r} is {size_text(hr)} (width x height)."
        )
    multiple = SR_SIZE_MULTIPLE // scale
    if lr.shape[0] % multiple or lr.shape[1] % multiple:
        raise ValueError(
            f"LR image {lr_path!r} is {size_text(lr)} (width x height); DIC x{scale} needs LR sides "
            f"that are multiples of {multiple}."
        )


def _attach_landmarks(test_set, path, num_keypoints):
    faces = annotations_lib.load_annotations(path, num_keypoints=num_keypoints)
    by_stem = {}
    for face in faces:
        by_stem.setdefault(file_stem(face.name), []).append(face)
    for item in test_set:
        candidates = by_stem.get(file_stem(item.name), [])
        if len(candidates) > 1:
            raise ValueError(
                f"Ambiguous annotations for {item.name!r} in {path!r}: "
                f"{sorted(face.name for face in candidates)}."
            )
        if candidates:
            item.landmarks = landmarks_in_hr_frame(candidates[0], item.hr.shape)
    if faces and all(item.landmarks is None for item in test_set):
        raise ValueError(
            f"None of the {len(faces)} faces in {path!r} matches a test image by file "
            f"stem (e.g. {faces[0].name!r} vs {test_set[0].name!r})."
        )


def _check_unique_stems(names, folder):
    seen = {}
    for name in names:
        other = seen.setdefault(file_stem(name), name)
        if other != name:
            raise ValueError(
                f"{other!r} and {name!r} in {folder!r} share a file stem; SR outputs are "
                "written as <stem>.png, so stems must be unique."
            )
