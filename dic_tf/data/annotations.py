"""Face annotation formats: the authors' info pickle, its JSON twin, 300-W `.pts`.

Every format is read into a list of `FaceAnnotation`s: the image name (a path
relative to the images folder), 68 landmarks `(x, y)` in 0-based pixel
coordinates of the original image, and a crop box `(xmin, ymin, xmax, ymax)` in
integer pixels with exclusive maxima (the crop is `image[ymin:ymax, xmin:xmax]`).

Info pickle (the authors' `*_info_list*.pkl`)
    `{image name: {'landmark': array-like [68, 2], 'bbox': [xmin, ymin, xmax, ymax]}}`.
    Read with a restricted unpickler (`dic_tf.data.restricted_pickle`) that
    admits only plain containers, numbers, strings, bytes and numpy
    arrays/scalars/dtypes; any other global is refused before anything runs.

Info JSON
    The same structure as JSON, e.g.
    `{"img_001.jpg": {"bbox": [33, 33, 167, 167], "landmark": [[48.7, 79.3], ...]}}`.

300-W `.pts` folders (`dic_tf.data.pts_files`)
    Every `NAME.pts` is paired with the image `NAME.<ext>` beside it. The crop
    box is derived from the landmarks by `bbox_from_landmarks`: a square whose
    side is 1.3 x the landmarks' larger extent (rounded up to whole pixels),
    centred on the centre of the landmarks' bounding box.
"""

import dataclasses
import json
import math
import os

import numpy as np

from dic_tf.data import NUM_KEYPOINTS
from dic_tf.data.pts_files import PtsFormatError, read_pts
from dic_tf.data.restricted_pickle import ForbiddenPickleError, restricted_loads
from dic_tf.utils import atomic
from dic_tf.utils.image_files import IMAGE_EXTENSIONS

BBOX_MARGIN = 1.3


class AnnotationError(ValueError):
    """An annotation file (or some of its records) could not be used.

    Attributes:
        problems: the `Problem`s found, one per bad record (empty when the
            whole file is unusable).

    Example:
        try:
            load_annotations("info.pkl")
        except AnnotationError as error:
            print(error.problems)
    """

    def __init__(self, message, problems=()):
        super().__init__(message)
        self.problems = list(problems)


@dataclasses.dataclass(frozen=True)
class Problem:
    """Why one record cannot be used. `message` names the file and the record.

    Example:
        Problem("a.png", "info.pkl: 'a.png': expected 68 landmarks")
    """

    name: str
    message: str

    def __str__(self):
        return self.message


@dataclasses.dataclass(frozen=True)
class FaceAnnotation:
    """One annotated face.

    Attributes:
        name: image path relative to the images folder.
        landmarks: float64 `[K, 2]`, `(x, y)` in 0-based pixels.
        bbox: `(xmin, ymin, xmax, ymax)` ints, maxima exclusive.

    Example:
        face = load_annotations("info.json")[0]
        face.name, face.landmarks.shape, face.bbox  # ("img_001.jpg", (68, 2), (33, 33, 167, 167))
    """

    name: str
    landmarks: np.ndarray
    bbox: tuple


def bbox_from_landmarks(landmarks, margin=BBOX_MARGIN):
    """Square crop box around landmarks, as used for `.pts` folders.

    Args:
        landmarks: `[K, 2]` array of `(x, y)`.
        margin: side of the square relative to the landmarks' larger extent.

    Returns:
        `(xmin, ymin, xmax, ymax)` ints: side `ceil(margin * extent)`, with
        `xmin = floor(cx - side / 2)` for the centre `cx` of the landmarks'
        bounding box (same for y) and `xmax = xmin + side`.

    Example:
        bbox_from_landmarks(landmarks)  # (xmin, ymin, xmax, ymax)
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    low, high = landmarks.min(axis=0), landmarks.max(axis=0)
    side = int(math.ceil(margin * float((high - low).max())))
    xmin, ymin = (int(math.floor(c - side / 2)) for c in (low + high) / 2)
    return xmin, ymin, xmin + side, ymin + side


def _check_record(source, name, entry, num_keypoints):
    """Validates one info entry; returns a `FaceAnnotation` or a `Problem`."""
    where = f"{source}: {name!r}"
    if not isinstance(entry, dict) or "landmark" not in entry or "bbox" not in entry:
        return Problem(name, f"{where}: expected a dict with 'landmark' and 'bbox', got {entry!r:.80}")
    try:
        landmarks = np.asarray(entry["landmark"], dtype=np.float64)
    except (TypeError, ValueError) as error:
        return Problem(name, f"{where}: landmark is not a numeric [{num_keypoints}, 2] array ({error})")
    if landmarks.shape != (num_keypoints, 2):
        return Problem(name, f"{where}: landmark has shape {landmarks.shape}, expected ({num_keypoints}, 2)")
    if not np.all(np.isfinite(landmarks)):
        return Problem(name, f"{where}: landmark has non-finite values")
    try:
        bbox = np.asarray(entry["bbox"], dtype=np.float64)
    except (TypeError, ValueError) as error:
        return Problem(name, f"{where}: bbox is not 4 numbers ({error})")
    if bbox.shape != (4,) or not np.all(np.isfinite(bbox)) or np.any(bbox != np.round(bbox)):
        return Problem(name, f"{where}: bbox is {entry['bbox']!r}, expected 4 integers [xmin, ymin, xmax, ymax]")
    xmin, ymin, xmax, ymax = (int(v) for v in bbox)
    if xmin >= xmax or ymin >= ymax:
        return Problem(name, f"{where}: bbox {[xmin, ymin, xmax, ymax]} is empty, expected xmin < xmax and ymin < ymax")
    return FaceAnnotation(name=name, landmarks=landmarks, bbox=(xmin, ymin, xmax, ymax))


def parse_info(info, source, num_keypoints=NUM_KEYPOINTS):
    """Validates an info dict record by record.

    Args:
        info: `{image name: {'landmark': [K, 2], 'bbox': [4]}}`.
        source: the file it came from, used in messages.
        num_keypoints: expected landmark count K.

    Returns:
        `(annotations, problems)`: the good records as `FaceAnnotation`s in
        the dict's order and a `Problem` for each bad one.

    Raises:
        AnnotationError: if `info` is not a dict keyed by names.

    Example:
        annotations, problems = parse_info(info, "info.json")
    """
    if not isinstance(info, dict):
        raise AnnotationError(
            f"{source}: expected a dict {{image name: {{'landmark', 'bbox'}}}}, got {type(info).__name__}"
        )
    annotations, problems = [], []
    for name, entry in info.items():
        if not isinstance(name, str):
            problems.append(Problem(str(name), f"{source}: {name!r}: image name is not a string"))
            continue
        result = _check_record(source, name, entry, num_keypoints)
        (problems if isinstance(result, Problem) else annotations).append(result)
    return annotations, problems


def read_info_pickle(path):
    """Reads an authors'-style info pickle with the restricted unpickler.

    Args:
        path: the `.pkl` file.

    Returns:
        The unpickled object (expected: the info dict, see the module docstring).

    Raises:
        AnnotationError: on a forbidden global or a malformed pickle.

    Example:
        info = read_info_pickle("CelebA_test_info_list.pkl")
    """
    with open(path, "rb") as f:
        data = f.read()
    try:
        return restricted_loads(data, path)
    except ForbiddenPickleError as error:
        raise AnnotationError(str(error)) from None
    except Exception as error:
        raise AnnotationError(f"{path}: not a readable info pickle ({type(error).__name__}: {error})") from error


def read_info_json(path):
    """Reads an info JSON file (see the module docstring for the layout).

    Example:
        info = read_info_json("info.json")
    """
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as error:
        raise AnnotationError(f"{path}: not valid JSON ({error})") from error


def write_info_json(info, path):
    """Writes an info dict as JSON; numpy arrays become nested lists.

    Example:
        write_info_json(info, "info.json")
    """
    plain = {
        name: {
            "bbox": [int(v) for v in entry["bbox"]],
            "landmark": np.asarray(entry["landmark"], dtype=np.float64).tolist(),
        }
        for name, entry in info.items()
    }
    atomic.write_json(path, plain)


def read_pts_folder(images_dir, num_keypoints=NUM_KEYPOINTS, one_based=False):
    """Reads every `.pts` file under a folder and pairs it with its image.

    Args:
        images_dir: folder searched recursively (sorted order).
        num_keypoints: expected landmark count.
        one_based: subtract 1 from every coordinate (the original 300-W
            annotations count pixels from 1).

    Returns:
        `(annotations, problems)` as `parse_info`; names are image paths
        relative to `images_dir`; bboxes come from `bbox_from_landmarks`.

    Example:
        annotations, problems = read_pts_folder("helen/trainset", one_based=True)
    """
    annotations, problems = [], []
    for root, dirs, files in os.walk(images_dir):
        dirs.sort()
        present = set(files)
        for pts_file in sorted(f for f in files if f.endswith(".pts")):
            stem = pts_file[: -len(".pts")]
            pts_path = os.path.join(root, pts_file)
            images = [stem + e for ext in IMAGE_EXTENSIONS for e in (ext, ext.upper()) if stem + e in present]
            name = os.path.relpath(os.path.join(root, images[0] if images else pts_file), images_dir)
            if not images:
                extensions = "|".join(ext[1:] for ext in IMAGE_EXTENSIONS)
                problems.append(Problem(name, f"{pts_path}: {name!r}: no image {stem}.<{extensions}> next to it"))
                continue
            try:
                landmarks = read_pts(pts_path) - (1.0 if one_based else 0.0)
            except PtsFormatError as error:
                problems.append(Problem(name, f"{error} (record {name!r})"))
                continue
            entry = {"landmark": landmarks, "bbox": bbox_from_landmarks(landmarks) if len(landmarks) else ()}
            result = _check_record(pts_path, name, entry, num_keypoints)
            (problems if isinstance(result, Problem) else annotations).append(result)
    return annotations, problems


def read_annotations(path=None, images_dir=None, num_keypoints=NUM_KEYPOINTS, pts_one_based=False):
    """Reads annotations in any supported format, collecting per-record problems.

    Args:
        path: `.pkl`/`.pickle` or `.json` info file, or None to read `.pts`
            files found under `images_dir`.
        images_dir: the images folder (needed when `path` is None).
        num_keypoints: expected landmark count.
        pts_one_based: see `read_pts_folder`.

    Returns:
        `(annotations, problems)`: good records and one `Problem` per bad one.

    Raises:
        AnnotationError: when the file as a whole cannot be read.

    Example:
        annotations, problems = read_annotations("info.pkl")
    """
    if path is None:
        if images_dir is None or not os.path.isdir(images_dir):
            raise AnnotationError(f"{images_dir}: not a folder of images with .pts files")
        return read_pts_folder(images_dir, num_keypoints, pts_one_based)
    if not os.path.isfile(path):
        raise AnnotationError(f"{path}: annotation file not found")
    if path.endswith((".pkl", ".pickle")):
        return parse_info(read_info_pickle(path), path, num_keypoints)
    if path.endswith(".json"):
        return parse_info(read_info_json(path), path, num_keypoints)
    raise AnnotationError(f"{path}: unknown annotation format, expected .pkl, .pickle or .json")


def load_annotations(path=None, images_dir=None, num_keypoints=NUM_KEYPOINTS, pts_one_based=False):
    """Like `read_annotations` but every record must be good.

    Returns:
        list of `FaceAnnotation`.

    Raises:
        AnnotationError: listing every bad record.

    Example:
        faces = load_annotations(images_dir="helen/trainset")
    """
    annotations, problems = read_annotations(path, images_dir, num_keypoints, pts_one_based)
    if problems:
        listing = "\n  ".join(str(p) for p in problems)
        raise AnnotationError(f"{len(problems)} bad annotation record(s):\n  {listing}", problems)
    return annotations
