"""`predict.py --photos`: super-resolves the faces of photo files and writes the results.

For each photo `<stem>.<ext>` with at least one face, into `output_dir`:

    <stem>_x<U>.<jpg|png>         the photo upscaled xU (Pillow bicubic) with the SR faces pasted in;
                                  JPEG (quality 95, no chroma subsampling) for a JPEG input, else PNG
                                  (`output_format` chooses); it and the face files below carry the
                                  input's RGB colour profile, if any
    <stem>_face<i>_lr.png         the LR the model saw (i = 0, 1, ... most confident first)
    <stem>_face<i>_bicubic.png    that LR upscaled to the SR size with Pillow bicubic
    <stem>_face<i>_sr.png         the model's 128x128 SR face

(the three face files only for faces a model super-resolved) and one
`photos.json` for the run:

    {"photos": {"<file name>": {"output": "<stem>_x2.jpg", "size": [W, H], "output_size": [UW, UH],
        "timing": {"read_s", "detection_s", "alignment_s", "sr_s", "paste_s", "write_s"},
        "faces": [{"box": [xmin, ymin, xmax, ymax], "confidence": c, "points": [[x, y] x 5],
                   "transform": [[a, b, tx], [c, d, ty]] (photo -> 128-px crop), "crop_side": px,
                   "model": its entry of "models" below, or null,
                   "reason": "<why the face was left bicubic>" (only when "model" is null),
                   "flags": ["upsampled"], "lr_file", "bicubic_file", "sr_file",
                   "landmarks_steps": [[[x, y] x 68] x T]}]}},
     "no_face": ["<file name>", ...], "skipped": {"<file name>": "<why>"},
     "upscale": 2, "models": [{"source", "scale", "lr_size", "validation": {"step", "psnr",
        "bicubic_psnr", "num_images"} or null, "refused": "<why it is never used>" (only then)}, ...],
     "stopped": {"photo": "<file name>", "error": "<type>: <message>"} (only for a run stopped part-way)}

All coordinates are photo pixels (pixel centres at integers). `paste_s`
includes the bicubic upscale of the whole photo. Photos without a face and
unreadable or too large photos are reported on one line each and left out;
the rest of the batch goes on. Photos that share a stem (a.jpg, a.png) use
their whole names as stems (a.jpg_x2.jpg, a.png_x2.png).
"""

import json
import os
import sys
import time

from tqdm import tqdm

from dic_tf.photos import detection, photo
from dic_tf.utils import atomic, image_files

REPORT_FILE = "photos.json"
CROP_KINDS = ("lr", "bicubic", "sr")
UPSCALES = (1, 2, 4, 8)
OUTPUT_FORMATS = ("auto", "png", "jpeg")
JPEG_QUALITY = 95
MAX_PIXELS = 2**23
"""Largest photo read (8.4 MP, e.g. 2896 x 2896), and at most `MAX_OUTPUT_PIXELS / upscale**2`."""
MAX_OUTPUT_PIXELS = 2**27
"""Largest output photo (134 MP, 403 MB as 8-bit RGB): the input limit is 2.1 MP at x8, 8.4 MP at x4."""


def max_input_pixels(upscale):
    """The largest photo read at `upscale`.

    Example:
        >>> max_input_pixels(8), max_input_pixels(2)
        (2097152, 8388608)
    """
    return min(MAX_PIXELS, MAX_OUTPUT_PIXELS // upscale**2)


def super_resolve_photos(paths, predictors, output_dir, upscale=2, output_format="auto", sources=None,
                         detector=None, max_pixels=None, progress=True):
    """Super-resolves the faces of photo files and writes the files above.

    Args:
        paths: photo files.
        predictors: one `dic_tf.inference.KerasPredictor` / `SavedModelPredictor`
            or a list of them (anything with `lr_size` and `scale`, see
            `photo.run_model`); each face gets the one `choice.choose_model` picks;
            one whose `validation` is not above bicubic is never used
            (`choice.validation_refusal`, reported once on stderr): its faces
            go to another model that fits them or stay bicubic.
        output_dir: created if needed; existing files are never overwritten
            (`photos.json` there refuses the run, a photo whose output files
            exist is skipped). `photos.json` is written also when the run
            stops part-way (with "stopped"), for the photos done.
        upscale: the output photo's factor, one of `UPSCALES`.
        output_format: one of `OUTPUT_FORMATS` (see `output_file`).
        sources: a label per predictor for `photos.json` (default: its class and scale).
        detector: a `detection.FaceDetector` (default: a new one).
        max_pixels: larger photos are refused before decoding; default `max_input_pixels(upscale)`.
        progress: show a progress bar (for more than one photo).

    Returns:
        The report dictionary written to `photos.json`.

    Example:
        >>> report = super_resolve_photos(["group.jpg"], KerasPredictor(model), "out")  # doctest: +SKIP
        >>> report["photos"]["group.jpg"]["output"]                                      # doctest: +SKIP
        'group_x2.jpg'
    """
    predictors = list(predictors) if isinstance(predictors, (list, tuple)) else [predictors]
    sources = sources or [f"{type(p).__name__} x{p.scale}" for p in predictors]
    if upscale not in UPSCALES:
        raise ValueError(f"upscale={upscale}: expected one of {', '.join(map(str, UPSCALES))}.")
    output_file("check", upscale, output_format)  # a bad format is refused before any photo
    detector = detector or detection.FaceDetector()
    report_path = os.path.join(output_dir, REPORT_FILE)
    if os.path.exists(report_path):
        raise FileExistsError(f"{report_path} exists: give a new --output_dir (nothing is overwritten).")
    stems = image_files.output_stems(paths)  # a.jpg and a.png: a.jpg_x2.jpg and a.png_x2.png
    os.makedirs(output_dir, exist_ok=True)
    refusals = photo.model_refusals(predictors)
    models = [{"source": source, "scale": p.scale, "lr_size": p.lr_size,
               "validation": getattr(p, "validation", None), **({"refused": refused} if refused else {})}
              for source, p, refused in zip(sources, predictors, refusals)]
    for model in models:
        if "refused" in model:
            tqdm.write(f"{model['source']} {model['refused']}: it is not used", file=sys.stderr)
    report = {"photos": {}, "no_face": [], "skipped": {}, "upscale": upscale, "models": models}
    current = None  # the photo in hand, for a run stopped part-way
    try:
        for path, stem in tqdm(list(zip(paths, stems)), desc="photos", unit="photo",
                               disable=len(paths) == 1 or not progress):
            current = name = os.path.basename(path)
            try:
                entry = _photo(path, stem, predictors, refusals, output_dir, upscale, output_format, detector,
                               models, max_pixels or max_input_pixels(upscale))
            except (image_files.ImageReadError, FileExistsError) as error:
                tqdm.write(f"skipped {name}: {error}", file=sys.stderr)
                report["skipped"][name] = str(error)
            else:
                if entry is None:
                    tqdm.write(f"no face found in {name}; left out", file=sys.stderr)
                    report["no_face"].append(name)
                else:
                    report["photos"][name] = entry
            current = None
    except BaseException as error:  # the photos written so far keep their report
        report["stopped"] = {"photo": current, "error": f"{type(error).__name__}: {error}"}
        raise
    finally:
        atomic.write_new_file(report_path, (json.dumps(report, indent=1) + "\n").encode("utf-8"))
    return report


def output_file(name, upscale, output_format="auto", stem=None):
    """`(file name, format)` of the upscaled photo of photo file `name`.

    `output_format` "auto" writes JPEG for a JPEG photo and PNG for any other.
    `stem`: the output's stem (default the file's; `image_files.output_stems`
    gives photos that share a stem their whole names).

    Example:
        >>> output_file("in/group.jpeg", 2), output_file("a.webp", 4), output_file("a.jpg", 8, "png")
        (('group_x2.jpg', 'jpeg'), ('a_x4.png', 'png'), ('a_x8.png', 'png'))
    """
    if output_format not in OUTPUT_FORMATS:
        raise ValueError(f"output_format={output_format!r}: expected one of {', '.join(OUTPUT_FORMATS)}.")
    chosen = output_format
    if chosen == "auto":
        chosen = "jpeg" if name.lower().endswith((".jpg", ".jpeg")) else "png"
    stem = stem or image_files.file_stem(name)
    return f"{stem}_x{upscale}.{'jpg' if chosen == 'jpeg' else 'png'}", chosen


def run(paths, make_models, output_dir, upscale=2, output_format="auto", progress=True):
    """The `predict.py --photos` entry: prints one summary line; returns the exit status.

    Args:
        paths: photo files.
        make_models: no-argument callable returning `[(source label, predictor)]`;
            called after the detector is built, so a missing mtcnn is reported
            before any model is loaded.
        output_dir, upscale, output_format, progress: see `super_resolve_photos`.

    Example:
        >>> status = run(["group.jpg"], lambda: [("my model", KerasPredictor(model))], "out")  # doctest: +SKIP
    """
    detector = detection.FaceDetector()  # raises DetectorUnavailableError (an ImportError): one line
    sources, predictors = zip(*make_models())
    report = super_resolve_photos(paths, list(predictors), output_dir, upscale, output_format, list(sources),
                                  detector, progress=progress)  # FileExistsError for an earlier photos.json
    done = len(report["photos"])
    faces = [face for entry in report["photos"].values() for face in entry["faces"]]
    improved = sum(face["model"] is not None for face in faces)
    print(f"{len(faces)} face(s) ({improved} super-resolved, {len(faces) - improved} left bicubic) in {done} "
          f"of {len(paths)} photo(s) upscaled x{upscale} into {output_dir}", end="")
    left_out = report["no_face"] + sorted(report["skipped"])
    print(f"; left out: {', '.join(left_out)}" if left_out else "")
    return 0 if done else 1


def _photo(path, stem, predictors, refusals, output_dir, upscale, output_format, detector, models, max_pixels):
    """One photo: its `photos.json` entry, or None without a face; raises on a bad or clashing file."""
    name = os.path.basename(path)
    start = time.perf_counter()
    image, profile = image_files.read_rgb_and_profile(path, max_pixels)  # a phone's Display P3 keeps its colours
    timing = {"read_s": time.perf_counter() - start}
    start = time.perf_counter()
    faces = detector(image)
    timing["detection_s"] = time.perf_counter() - start
    if not faces:
        return None
    plans = photo.plan_faces(faces, [p.lr_size for p in predictors], upscale, refusals=refusals)
    output, chosen = output_file(name, upscale, output_format, stem)
    crops = _crop_names(stem, plans)
    existing = [f for f in [output, *sum(crops, [])] if os.path.exists(os.path.join(output_dir, f))]
    if existing:
        raise FileExistsError(f"{existing[0]} exists in {output_dir} (nothing is overwritten)")
    canvas, results = photo.super_resolve_photo(image, plans, predictors, upscale, timing)
    start = time.perf_counter()
    if chosen == "jpeg":  # never replaces a file
        image_files.write_jpeg(os.path.join(output_dir, output), canvas, JPEG_QUALITY, icc_profile=profile)
    else:
        image_files.write_png(os.path.join(output_dir, output), canvas, icc_profile=profile)
    faces = [_face_entry(output_dir, result, files, models, profile) for result, files in zip(results, crops)]
    timing["write_s"] = time.perf_counter() - start
    return {"output": output, "size": [image.shape[1], image.shape[0]],
            "output_size": [canvas.shape[1], canvas.shape[0]],
            "timing": {key: round(seconds, 4) for key, seconds in timing.items()}, "faces": faces}


def _crop_names(stem, plans):
    """Per face, the names of its LR, bicubic and SR files ([] for a face left bicubic)."""
    return [[] if plan.model is None else [f"{stem}_face{i}_{kind}.png" for kind in CROP_KINDS]
            for i, plan in enumerate(plans)]


def _face_entry(output_dir, result, files, models, profile):
    """Writes a face's crops (with the photo's RGB colour profile, or none); returns its `photos.json` entry."""
    plan = result.plan
    entry = {
        "box": plan.face.box.tolist(),
        "confidence": plan.face.confidence,
        "points": plan.face.points.tolist(),
        "transform": plan.transform.tolist(),
        "crop_side": plan.crop_side,
        "model": None if plan.model is None else models[plan.model],
    }
    if plan.model is None:
        return {**entry, "reason": plan.reason}
    entry["flags"] = list(result.flags)
    for kind, file in zip(CROP_KINDS, files):
        image_files.write_png(os.path.join(output_dir, file), getattr(result, kind), icc_profile=profile)
        entry[f"{kind}_file"] = file
    return {**entry, "landmarks_steps": result.landmarks_steps.tolist()}
