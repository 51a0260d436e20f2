"""Evaluation drivers behind `evaluate.py`.

Folder mode compares the outputs of any method (`sr_dir`) with the ground
truth (`hr_dir`) by file name under the official protocol of `dic_tf.metrics`
and writes `results.json`:

    {
      "images": {sr file name: {"psnr": float|null, "ssim": float, "hr_file": str}},
      "average": {"psnr": float|null, "ssim": float},
      "protocol": {"y_channel": "BT.601", "border": 8, "ssim": "official", ...},
      "num_images": int, "sr_dir": str, "hr_dir": str, "unmatched_hr_files": [str]
    }

PSNR of identical images is infinite and written as `null` (strict JSON).
"""

import json
import os
import tempfile

import numpy as np
from PIL import Image
from tqdm import tqdm

from dic_tf import metrics

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
RESULTS_FILE = "results.json"
_SSIM_NOTES = {
    "official": (
        "As the authors' calc_metrics: the uint8 Y image is multiplied by 255, which "
        "wraps around, so SSIM is computed on 256 - Y; reproduces the published numbers."
    ),
    "standard": "Textbook SSIM on Y; differs from the official value from about the 6th decimal.",
}


def protocol(scale=8, ssim_variant="official"):
    """Describes the metric protocol (stored in `results.json`)."""
    if ssim_variant not in metrics.SSIM_VARIANTS:
        raise ValueError(
            f"Unknown SSIM variant {ssim_variant!r}; expected one of {metrics.SSIM_VARIANTS}."
        )
    return {
        "y_channel": "BT.601",
        "y_formula": "round((65.481 R + 128.553 G + 24.966 B) / 255 + 16) on uint8 RGB",
        "border": scale,
        "psnr_peak": 255,
        "ssim": ssim_variant,
        "ssim_note": _SSIM_NOTES[ssim_variant],
        "ssim_window": f"Gaussian {metrics.SSIM_WINDOW_SIZE}x{metrics.SSIM_WINDOW_SIZE}, "
        f"sigma {metrics.SSIM_SIGMA}, valid region",
        "average": "arithmetic mean over images",
        "infinite_psnr": "identical images have infinite PSNR, written as null",
    }


def list_images(folder):
    """Sorted image file names (by extension) directly inside `folder`."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Image folder {folder!r} does not exist.")
    return sorted(
        name for name in os.listdir(folder)
        if name.lower().endswith(IMAGE_EXTENSIONS)
        and os.path.isfile(os.path.join(folder, name))
    )


def load_rgb(path):
    """Reads an RGB image file.

    Returns:
        uint8 array `(H, W, 3)`.
    """
    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            array = np.asarray(image)
    except (OSError, ValueError) as error:
        raise ValueError(f"Cannot read image {path!r}: {error}") from error
    if mode != "RGB":
        raise ValueError(
            f"Image {path!r} has mode {mode!r}; the protocol needs 8-bit RGB images."
        )
    return array


def match_files(sr_names, hr_names, sr_dir, hr_dir):
    """Pairs each SR file with its HR counterpart.

    The HR file with the same name is used; failing that, the unique HR file
    with the same stem (e.g. `x.png` vs `x.jpg`).

    Returns:
        (list of `(sr_name, hr_name)`, sorted list of unmatched HR names).
    """
    by_stem = {}
    for name in hr_names:
        by_stem.setdefault(os.path.splitext(name)[0], []).append(name)
    hr_set = set(hr_names)
    pairs = []
    for sr_name in sr_names:
        if sr_name in hr_set:
            pairs.append((sr_name, sr_name))
            continue
        candidates = by_stem.get(os.path.splitext(sr_name)[0], [])
        if not candidates:
            raise FileNotFoundError(
                f"No ground truth for {os.path.join(sr_dir, sr_name)!r}: expected "
                f"{os.path.join(hr_dir, sr_name)!r} (or the same stem with another extension)."
            )
        if len(candidates) > 1:
            raise ValueError(
                f"Ambiguous ground truth for {sr_name!r} in {hr_dir!r}: {sorted(candidates)}."
            )
        pairs.append((sr_name, candidates[0]))
    unmatched = sorted(hr_set - {hr for _, hr in pairs})
    return pairs, unmatched


def evaluate_folders(sr_dir, hr_dir, scale=8, ssim_variant="official", progress=True):
    """Official PSNR/SSIM of every SR image against its HR counterpart.

    Args:
        sr_dir: folder of the method's outputs.
        hr_dir: folder of the ground-truth images.
        scale: super-resolution factor, i.e. the cropped border.
        ssim_variant: "official" or "standard" (see `dic_tf.metrics.ssim_y`).
        progress: show a tqdm progress bar.

    Returns:
        The `results.json` dictionary described in the module docstring.
    """
    spec = protocol(scale, ssim_variant)
    sr_names = list_images(sr_dir)
    if not sr_names:
        raise FileNotFoundError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) in {sr_dir!r}.")
    pairs, unmatched = match_files(sr_names, list_images(hr_dir), sr_dir, hr_dir)
    images = {}
    psnrs, ssims = [], []
    for sr_name, hr_name in tqdm(pairs, desc="evaluating", unit="img", disable=not progress):
        sr_path = os.path.join(sr_dir, sr_name)
        hr_path = os.path.join(hr_dir, hr_name)
        sr = load_rgb(sr_path)
        hr = load_rgb(hr_path)
        if sr.shape != hr.shape:
            raise ValueError(
                f"Size mismatch: {sr_path!r} is {sr.shape[1]}x{sr.shape[0]} but "
                f"{hr_path!r} is {hr.shape[1]}x{hr.shape[0]} (width x height)."
            )
        psnr = metrics.psnr_y(sr, hr, border=scale)
        ssim = metrics.ssim_y(sr, hr, border=scale, variant=ssim_variant)
        psnrs.append(psnr)
        ssims.append(ssim)
        images[sr_name] = {"psnr": _json_float(psnr), "ssim": ssim, "hr_file": hr_name}
    return {
        "images": images,
        "average": {
            "psnr": _json_float(float(np.mean(psnrs))),
            "ssim": float(np.mean(ssims)),
        },
        "protocol": spec,
        "num_images": len(images),
        "sr_dir": os.path.abspath(sr_dir),
        "hr_dir": os.path.abspath(hr_dir),
        "unmatched_hr_files": unmatched,
    }


def write_results(results, output_dir):
    """Atomically writes `<output_dir>/results.json` and returns its path."""
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, RESULTS_FILE)
    handle, staging = tempfile.mkstemp(prefix=".results.", suffix=".json", dir=output_dir)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2, allow_nan=False)
            f.write("\n")
        os.replace(staging, path)
    except BaseException:
        os.unlink(staging)
        raise
    return path


def run_folder_mode(sr_dir, hr_dir, output_dir, scale=8, ssim_variant="official"):
    """Evaluates two folders, writes `results.json` and prints a summary.

    Returns:
        The results dictionary.
    """
    results = evaluate_folders(sr_dir, hr_dir, scale=scale, ssim_variant=ssim_variant)
    path = write_results(results, output_dir)
    average = results["average"]
    psnr = "inf" if average["psnr"] is None else f"{average['psnr']:.4f}"
    print(
        f"{results['num_images']} images | PSNR (Y, border {scale}): {psnr} dB | "
        f"SSIM ({ssim_variant}): {average['ssim']:.6f}"
    )
    print(f"SSIM variant: {ssim_variant}. {_SSIM_NOTES[ssim_variant]}")
    if results["unmatched_hr_files"]:
        print(
            f"Note: {len(results['unmatched_hr_files'])} ground-truth images in {hr_dir!r} "
            "have no SR counterpart and were not evaluated."
        )
    print(f"Wrote {path}")
    return results


def _json_float(value):
    """float, or None for a non-finite value (strict JSON has no Infinity)."""
    return float(value) if np.isfinite(value) else None
