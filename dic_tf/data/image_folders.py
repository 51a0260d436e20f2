"""Evaluation sets as image folders: the prepared HR faces and their official LR, by file name.

`write_image_folders` prepares every annotated face with the official recipe
(`preparation.crop_and_resize`, then `preparation.make_lr` at `scale`) and
writes two folders of lossless PNGs that `evaluate.py --hr_dir --lr_dir` reads:

    <output_dir>/HR/<stem>.png           uint8 [hr_size, hr_size, 3]
    <output_dir>/LR_x<scale>/<stem>.png  uint8 [hr_size / scale, hr_size / scale, 3]

`<stem>` is the annotated image's file name without folder and extension
(`182638.jpg` -> `182638.png`), so the annotation file itself still names the
faces (`evaluate.py --annotations` matches by stem). Both folders are written
into a hidden staging folder inside `output_dir` and renamed into place only
when every face is written; existing `HR` or `LR_x<scale>` folders are never
touched (the run stops first).

Example:
    summary = write_image_folders("helen/testset", None, "data/helen_test", scale=8)
    summary["hr_dir"], summary["lr_dir"]  # "data/helen_test/HR", "data/helen_test/LR_x8"
"""

import os
import shutil

from dic_tf.data import NUM_KEYPOINTS, preparation
from dic_tf.data import annotations as annotations_lib
from dic_tf.data.dataset_builder import PreparationError, prepared_faces, usable_records
from dic_tf.utils import atomic, image_files

HR_DIR = "HR"


def lr_dir_name(scale):
    """Name of the LR folder at `scale`.

    Example:
        >>> lr_dir_name(8)
        'LR_x8'
    """
    return f"LR_x{scale}"


def _planned_names(items):
    """`<stem>.png` of every face, with a one-line error when two faces would share one."""
    names = [item.name for item in items]
    stems = [image_files.file_stem(name) for name in names]
    owner = {}
    for name, stem in zip(names, stems):
        if stem in owner:
            raise PreparationError([annotations_lib.Problem(
                name, f"{owner[stem]!r} and {name!r} would both be written as {stem}.png; rename one"
            )])
        owner[stem] = name
    return [f"{stem}.png" for stem in stems]


def _move_into_place(staging, output_dir, folders):
    """Renames `staging/<folder>` to `output_dir/<folder>` for each, all or none."""
    moved = []
    try:
        for folder in folders:
            target = os.path.join(output_dir, folder)
            if os.path.lexists(target):
                raise FileExistsError(f"{target} appeared while writing; it was left as it was.")
            os.rename(os.path.join(staging, folder), target)
            moved.append(folder)
    except BaseException:
        for folder in moved:
            os.rename(os.path.join(output_dir, folder), os.path.join(staging, folder))
        raise
    atomic.fsync_dir(output_dir)


def write_image_folders(
    images_dir,
    annotations_path,
    output_dir,
    scale=preparation.SCALE,
    hr_size=preparation.HR_SIZE,
    skip_bad=False,
    num_keypoints=NUM_KEYPOINTS,
    pts_one_based=False,
    progress=False,
):
    """Prepares every annotated face and writes the `HR` and `LR_x<scale>` folders.

    Args:
        images_dir: folder of images (annotation names are relative to it).
        annotations_path: info `.pkl`/`.json`, or None for `.pts` files in `images_dir`.
        output_dir: created if needed; must not hold `HR` or `LR_x<scale>` yet.
        scale: HR / LR side ratio (8, 4 or 2 in the paper's settings).
        hr_size: HR side, divisible by `scale`.
        skip_bad: leave bad records out (returned in `skipped`) instead of failing.
        num_keypoints: landmarks per face.
        pts_one_based: see `annotations.read_pts_folder`.
        progress: show a progress bar.

    Returns:
        dict with `num_faces`, `hr_dir`, `lr_dir` and `skipped` (the `Problem`s
        of the records left out).

    Raises:
        FileExistsError: `HR` or `LR_x<scale>` exists in `output_dir`.
        annotations.AnnotationError: the annotation file as a whole is unreadable.
        dataset_builder.PreparationError: without `skip_bad`, listing every bad
            record; with it, when no record is usable.

    Example:
        write_image_folders("CelebA/img_celeba", "new_val_info_list.pkl", "data/celeba_test")
    """
    if hr_size % scale:
        raise ValueError(f"hr_size={hr_size} is not divisible by scale={scale}.")
    folders = (HR_DIR, lr_dir_name(scale))
    for folder in folders:
        if os.path.lexists(os.path.join(output_dir, folder)):
            raise FileExistsError(
                f"{os.path.join(output_dir, folder)} already exists; it was left as it was (choose another folder)."
            )
    items, problems = usable_records(images_dir, annotations_path, num_keypoints, skip_bad, pts_one_based)
    names = _planned_names(items)

    staging = atomic.make_staging_dir(output_dir, prefix=".image_folders.")
    try:
        for folder in folders:
            os.mkdir(os.path.join(staging, folder), atomic.DIR_MODE)
        written = 0
        for index, _, hr, _ in prepared_faces(items, images_dir, hr_size, problems, progress):
            name = names[index]
            image_files.write_png(os.path.join(staging, folders[0], name), hr)
            image_files.write_png(os.path.join(staging, folders[1], name), preparation.make_lr(hr, scale))
            written += 1
        if (problems and not skip_bad) or not written:
            raise PreparationError(problems)
        _move_into_place(staging, output_dir, folders)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {
        "num_faces": written,
        "hr_dir": os.path.join(output_dir, folders[0]),
        "lr_dir": os.path.join(output_dir, folders[1]),
        "skipped": problems,
    }
