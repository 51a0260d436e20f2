"""Folder mode: the official PSNR/SSIM of a method's outputs against the ground truth.

`evaluate_folders` compares the outputs of any method (`sr_dir`) with the
ground truth (`hr_dir`) by file name under the official protocol of
`dic_tf.metrics` (images read upright as 8-bit RGB by
`dic_tf.utils.image_files.read_rgb`); `run_folder_mode` writes `results.json`:

    {
      "images": {sr file name: {"psnr": float|null, "ssim": float, "hr_file": str}},
      "average": {"psnr": float|null, "ssim": float},
      "protocol": {"y_channel": "BT.601", "border": 8, "ssim": "official", ...},
      "num_images": int, "sr_dir": str, "hr_dir": str, "unmatched_hr_files": [str]
    }

PSNR of identical images is infinite and written as `null` (strict JSON).
"""

import os

import numpy as np
from tqdm import tqdm

from dic_tf import metrics
from dic_tf.evaluation.protocol import protocol
from dic_tf.evaluation.results_file import json_float, write_results
from dic_tf.evaluation.tables import print_folder_summary
from dic_tf.utils.image_files import IMAGE_EXTENSIONS, list_images, match_files, read_rgb, size_text


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

    Example:
        results = evaluate_folders("results/DIC", "data/CelebA/test/HR")
        results["average"]  # {"psnr": ..., "ssim": ...}
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
        sr = read_rgb(sr_path)
        hr = read_rgb(hr_path)
        if sr.shape != hr.shape:
            raise ValueError(
                f"Size mismatch: {sr_path!r} is {size_text(sr)} but {hr_path!r} is {size_text(hr)} (width x height)."
            )
        psnr = metrics.psnr_y(sr, hr, border=scale)
        ssim = metrics.ssim_y(sr, hr, border=scale, variant=ssim_variant)
        psnrs.append(psnr)
        ssims.append(ssim)
        images[sr_name] = {"psnr": json_float(psnr), "ssim": ssim, "hr_file": hr_name}
    return {
        "images": images,
        "average": {
            "psnr": json_float(float(np.mean(psnrs))),
            "ssim": float(np.mean(ssims)),
        },
        "protocol": spec,
        "num_images": len(images),
        "sr_dir": os.path.abspath(sr_dir),
        "hr_dir": os.path.abspath(hr_dir),
        "unmatched_hr_files": unmatched,
    }


def run_folder_mode(sr_dir, hr_dir, output_dir, scale=8, ssim_variant="official", progress=True):
    """Evaluates two folders, writes `results.json` and prints a summary.

    Returns:
        The results dictionary.

    Example:
        run_folder_mode("results/DIC", "data/CelebA/test/HR", "runs/eval_dic")
    """
    results = evaluate_folders(
        sr_dir, hr_dir, scale=scale, ssim_variant=ssim_variant, progress=progress
    )
    print_folder_summary(results, write_results(results, output_dir), hr_dir)
    return results
