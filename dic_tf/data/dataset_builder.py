"""Validates annotated faces, prepares them and writes TFRecord shards + `manifest.json`.

Records hold the prepared HR face (official crop + Pillow bicubic resize), its
landmarks in HR pixels and the image name (layout in `dic_tf.data.shards`);
LR images and heatmaps are made by the input pipelines, after augmentation.
Shards and manifest are written to temporary files and moved into place with
`os.replace` only when the whole dataset succeeded.
"""

import contextlib
import io
import os

import numpy as np
from PIL import Image
from tqdm import tqdm

from dic_tf.data import NUM_KEYPOINTS, preparation, shards
from dic_tf.data import annotations as annotations_lib
from dic_tf.utils import atomic, image_files


class PreparationError(ValueError):
    """Some records are unusable; `problems` lists every one (`annotations.Problem`)."""

    def __init__(self, problems):
        listing = "\n  ".join(str(p) for p in problems)
        super().__init__(f"{len(problems)} bad record(s); fix them or pass --skip_bad to leave them out:\n  {listing}")
        self.problems = list(problems)


def _bbox_problem(item, width, height, path):
    """A `Problem` if the crop box of `item` leaves a `width` x `height` image, else None."""
    xmin, ymin, xmax, ymax = item.bbox
    if xmin >= 0 and ymin >= 0 and xmax <= width and ymax <= height:
        return None
    return annotations_lib.Problem(
        item.name,
        f"{item.name!r}: bbox {list(item.bbox)} is outside the {width}x{height} image {path}, "
        f"expected 0 <= xmin < xmax <= {width} and 0 <= ymin < ymax <= {height}",
    )


def check_images(annotations, images_dir):
    """Checks that every image exists, opens, and contains its crop box.

    Reads only image headers (size and EXIF orientation); full decoding
    happens while writing.

    Args:
        annotations: list of `FaceAnnotation`.
        images_dir: folder the names are relative to.

    Returns:
        `(good, problems)`: the usable annotations and a `Problem` per other one.
    """
    good, problems = [], []
    for item in annotations:
        path = os.path.join(images_dir, item.name)
        if not os.path.isfile(path):
            problems.append(annotations_lib.Problem(item.name, f"{item.name!r}: image not found: {path}"))
            continue
        try:
            width, height = image_files.image_size(path)
        except image_files.ImageReadError as error:
            problems.append(annotations_lib.Problem(item.name, f"{item.name!r}: unreadable image: {error}"))
            continue
        problem = _bbox_problem(item, width, height, path)
        if problem:
            problems.append(problem)
        else:
            good.append(item)
    return good, problems


def usable_records(images_dir, annotations_path, num_keypoints, skip_bad, pts_one_based):
    """The annotated faces whose images are usable, and the problems of the others.

    Returns:
        (items, problems): `annotations.read_annotations` items that passed
        `check_images`, and the `annotations.Problem`s of the rest.

    Raises:
        PreparationError: without `skip_bad`, listing every bad record; with
            it, when no record is usable.

    Example:
        items, skipped = usable_records("celeba/img", "new_val_info_list.pkl", 68, False, False)
    """
    items, problems = annotations_lib.read_annotations(annotations_path, images_dir, num_keypoints, pts_one_based)
    items, image_problems = check_images(items, images_dir)
    problems += image_problems
    if problems and not skip_bad:
        raise PreparationError(problems)
    if not items:
        raise PreparationError(problems + [annotations_lib.Problem("", f"{images_dir}: no usable records")])
    return items, problems


def prepared_faces(items, images_dir, hr_size, problems, progress=False):
    """Decodes and crops each face the official way; a face that fails is added to `problems`.

    Yields:
        (index, item, hr uint8 `[hr_size, hr_size, 3]`, landmarks float `[K, 2]` in HR
        pixels): `preparation.crop_and_resize` of every face that decodes and holds its box.

    Example:
        for index, item, hr, landmarks in prepared_faces(items, "celeba/img", 128, problems): ...
    """
    for index, item in enumerate(tqdm(items, disable=not progress, desc="preparing")):
        path = os.path.join(images_dir, item.name)
        try:
            image = image_files.read_rgb(path)
        except image_files.ImageReadError as error:
            problems.append(annotations_lib.Problem(item.name, f"{item.name!r}: cannot decode: {error}"))
            continue
        problem = _bbox_problem(item, image.shape[1], image.shape[0], path)
        if problem:
            problems.append(problem)
            continue
        hr, landmarks_hr = preparation.crop_and_resize(image, item.landmarks, item.bbox, hr_size)
        yield index, item, hr, landmarks_hr


def encode_record(hr, landmarks, name):
    """Serializes one prepared face as a `tf.train.Example` (layout in `dic_tf.data.shards`)."""
    buffer = io.BytesIO()
    Image.fromarray(hr).save(buffer, format="PNG")
    return shards.encode_example({
        shards.HR_KEY: [buffer.getvalue()],
        shards.LANDMARKS_KEY: np.asarray(landmarks, dtype=np.float32).ravel(),
        shards.NAME_KEY: [name.encode("utf-8")],
    })


def _record_writer(path):
    """TensorFlow's TFRecord writer where installed (fast checksums), else `shards.RecordWriter`."""
    try:
        import tensorflow as tf
    except ImportError:
        return shards.RecordWriter(path)
    return tf.io.TFRecordWriter(path)


def build_dataset(
    images_dir,
    annotations_path,
    output_dir,
    num_shards=1,
    skip_bad=False,
    hr_size=preparation.HR_SIZE,
    scale=preparation.SCALE,
    num_keypoints=NUM_KEYPOINTS,
    pts_one_based=False,
    progress=False,
):
    """Prepares every annotated face and writes shards and manifest.

    Args:
        images_dir: folder of images.
        annotations_path: info `.pkl`/`.json`, or None for `.pts` files in `images_dir`.
        output_dir: created if needed.
        num_shards: shard count (at most one shard per record).
        skip_bad: leave bad records out (listed in the manifest) instead of failing.
        hr_size: HR side.
        scale: HR / LR side ratio, recorded for the pipelines.
        num_keypoints: landmarks per face.
        pts_one_based: see `annotations.read_pts_folder`.
        progress: show a progress bar.

    Returns:
        The manifest dict that was written.

    Raises:
        annotations.AnnotationError: the annotation file as a whole is unreadable.
        PreparationError: without `skip_bad`, listing every bad record; with
            it, when no record is usable.
    """
    items, problems = usable_records(images_dir, annotations_path, num_keypoints, skip_bad, pts_one_based)

    os.makedirs(output_dir, exist_ok=True)
    num_shards = max(1, min(num_shards, len(items)))
    files = [f"data-{i:05d}-of-{num_shards:05d}.tfrecord" for i in range(num_shards)]
    temps = [os.path.join(output_dir, f"{name}.tmp-{os.getpid()}") for name in files]
    counts = [0] * num_shards
    names = []
    committed = False
    try:
        with contextlib.ExitStack() as stack:
            writers = [stack.enter_context(_record_writer(path)) for path in temps]
            for index, item, hr, landmarks_hr in prepared_faces(items, images_dir, hr_size, problems, progress):
                shard = index * num_shards // len(items)
                writers[shard].write(encode_record(hr, landmarks_hr, item.name))
                counts[shard] += 1
                names.append(item.name)
        if (problems and not skip_bad) or not names:
            raise PreparationError(problems)
        for temp, name in zip(temps, files):
            os.replace(temp, os.path.join(output_dir, name))
        committed = True
    finally:
        if not committed:
            for temp in temps:
                if os.path.exists(temp):
                    os.remove(temp)

    manifest = {
        "format_version": shards.FORMAT_VERSION,
        "num_examples": len(names),
        "num_keypoints": num_keypoints,
        "hr_size": hr_size,
        "scale": scale,
        "lr_size": hr_size // scale,
        "features": {
            shards.HR_KEY: "PNG-encoded uint8 RGB [hr_size, hr_size, 3]",
            shards.LANDMARKS_KEY: "float32 [num_keypoints * 2]: (x, y) per landmark in HR pixels",
            shards.NAME_KEY: "UTF-8 image name",
        },
        "shards": [{"file": name, "num_examples": count} for name, count in zip(files, counts)],
        "source": {
            "images_dir": os.path.abspath(images_dir),
            "annotations": os.path.abspath(annotations_path) if annotations_path else None,
            "format": "pts" if annotations_path is None else os.path.splitext(annotations_path)[1].lstrip("."),
        },
        "num_skipped": len(problems),
        "skipped": [{"name": p.name, "problem": p.message} for p in problems],
    }
    atomic.write_json(os.path.join(output_dir, shards.MANIFEST_NAME), manifest, indent=2)
    return manifest
