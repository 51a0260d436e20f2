"""`predict.py --photos`: super-resolves the faces of photo files and writes the results.

For each photo `<stem>.<ext>` with at least one face, into `output_dir`:

    <stem>_x8.png                 the photo upscaled x8 (bicubic) with the SR faces pasted in
    <stem>_face<i>_lr.png         the aligned LR face DIC saw (i = 0, 1, ... most confident first)
    <stem>_face<i>_bicubic.png    that LR upscaled x8 with Pillow bicubic
    <stem>_face<i>_sr.png         DIC's SR face

and one `photos.json` for the run:

    {"photos": {"<file name>": {"output": "<stem>_x8.png", "size": [W, H], "faces": [
        {"box": [xmin, ymin, xmax, ymax], "confidence": c, "points": [[x, y] x 5],
         "transform": [[a, b, tx], [c, d, ty]] (photo -> crop), "crop_side": px,
         "flags": ["upsampled" | "downsampled"], "lr_file", "bicubic_file", "sr_file",
         "landmarks_steps": [[[x, y] x 68] x T]}]}},
     "no_face": ["<file name>", ...], "skipped": {"<file name>": "<why>"},
     "lr_size": 16, "scale": 8}

All coordinates are photo pixels (pixel centres at integers). Photos without
a face and unreadable or too large photos are reported on one line each and
left out; the rest of the batch goes on.
"""

import json
import os
import sys

from tqdm import tqdm

from dic_tf.photos import detection, photo
from dic_tf.utils import image_files

REPORT_FILE = "photos.json"
CROP_KINDS = ("lr", "bicubic", "sr")
MAX_PIXELS = 2**21
"""Largest photo read by default (2.1 MP, e.g. 1448 x 1448): its x8 output has
64 times as many pixels (134 MP, 403 MB as 8-bit RGB)."""


def super_resolve_photos(paths, predictor, output_dir, detector=None, max_pixels=MAX_PIXELS,
                         progress=True):
    """Super-resolves the faces of photo files and writes the files above.

    Args:
        paths: photo files.
        predictor: `dic_tf.inference.KerasPredictor` / `SavedModelPredictor`
            (anything with `lr_size`, see `photo.run_model`).
        output_dir: created if needed; existing files are never overwritten
            (`photos.json` there refuses the run, a photo whose output files
            exist is skipped).
        detector: a `detection.FaceDetector` (default: a new one).
        max_pixels: larger photos are refused before decoding (`image_files.read_rgb`).
        progress: show a progress bar (for more than one photo).

    Returns:
        The report dictionary written to `photos.json`.

    Example:
        >>> report = super_resolve_photos(["group.jpg"], KerasPredictor(model), "out")  # doctest: +SKIP
        >>> report["photos"]["group.jpg"]["faces"][0]["sr_file"]                         # doctest: +SKIP
        'group_face0_sr.png'
    """
    detector = detector or detection.FaceDetector()
    report_path = os.path.join(output_dir, REPORT_FILE)
    if os.path.exists(report_path):
        raise FileExistsError(f"{report_path} exists: give a new --output_dir (nothing is overwritten).")
    os.makedirs(output_dir, exist_ok=True)
    report = {"photos": {}, "no_face": [], "skipped": {}, "lr_size": predictor.lr_size, "scale": photo.SCALE}
    for path in tqdm(paths, desc="photos", unit="photo", disable=len(paths) == 1 or not progress):
        name = os.path.basename(path)
        try:
            image = image_files.read_rgb(path, max_pixels)
        except image_files.ImageReadError as error:
            _skip(report, name, str(error))
            continue
        faces = detector(image)
        if not faces:
            tqdm.write(f"no face found in {name}; left out", file=sys.stderr)
            report["no_face"].append(name)
            continue
        stem = os.path.splitext(name)[0]
        existing = [f for f in _file_names(stem, len(faces)) if os.path.exists(os.path.join(output_dir, f))]
        if existing:
            _skip(report, name, f"{existing[0]} exists in {output_dir} (nothing is overwritten)")
            continue
        canvas, results = photo.super_resolve_photo(image, faces, predictor, predictor.lr_size)
        report["photos"][name] = _write_photo(output_dir, stem, image, canvas, results)
    with open(report_path, "x") as f:
        json.dump(report, f, indent=1)
    return report


def run(paths, make_predictor, output_dir, progress=True):
    """The `predict.py --photos` entry: prints one summary line; returns the exit status.

    Args:
        paths: photo files.
        make_predictor: no-argument callable returning the predictor; called
            after the detector is built, so a missing mtcnn is reported
            before any model is loaded.
        output_dir, progress: see `super_resolve_photos`.

    Example:
        >>> status = run(["group.jpg"], lambda: KerasPredictor(model), "out")  # doctest: +SKIP
    """
    try:
        detector = detection.FaceDetector()
        report = super_resolve_photos(paths, make_predictor(), output_dir, detector, progress=progress)
    except (detection.DetectorUnavailableError, FileExistsError) as error:
        print(error, file=sys.stderr)
        return 1
    done = len(report["photos"])
    faces = sum(len(entry["faces"]) for entry in report["photos"].values())
    print(f"{faces} face(s) in {done} of {len(paths)} photo(s) written to {output_dir}", end="")
    left_out = report["no_face"] + sorted(report["skipped"])
    print(f"; left out: {', '.join(left_out)}" if left_out else "")
    return 0 if done else 1


def _skip(report, name, message):
    tqdm.write(f"skipped {name}: {message}", file=sys.stderr)
    report["skipped"][name] = message


def _file_names(stem, num_faces):
    """The files written for photo `stem` with `num_faces` faces, the upscaled photo first."""
    faces = [f"{stem}_face{i}_{kind}.png" for i in range(num_faces) for kind in CROP_KINDS]
    return [f"{stem}_x{photo.SCALE}.png"] + faces


def _write_photo(output_dir, stem, image, canvas, results):
    output = _file_names(stem, 0)[0]
    image_files.write_png(os.path.join(output_dir, output), canvas)  # never replaces a file
    faces = []
    for i, result in enumerate(results):
        files = {}
        for kind in CROP_KINDS:
            files[f"{kind}_file"] = f"{stem}_face{i}_{kind}.png"
            image_files.write_png(os.path.join(output_dir, files[f"{kind}_file"]), getattr(result, kind))
        faces.append({
            "box": result.face.box.tolist(),
            "confidence": result.face.confidence,
            "points": result.face.points.tolist(),
            "transform": result.transform.tolist(),
            "crop_side": result.crop_side,
            "flags": list(result.flags),
            **files,
            "landmarks_steps": result.landmarks_steps.tolist(),
        })
    return {"output": output, "size": [image.shape[1], image.shape[0]], "faces": faces}
