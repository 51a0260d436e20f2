"""Saliency overlays of model mode: `saliency/<target label>/<stem>.png`."""

import os

import numpy as np
from PIL import Image

from dic_tf.evaluation import saliency as saliency_lib
from dic_tf.report.drawing import heat_overlay
from dic_tf.utils.image_files import file_stem, write_png

SALIENCY_DIR = "saliency"


def write_saliency(model, test_set, records, targets, output_dir, batch_size=16):
    """Saliency overlays of every target on every LR face.

    Writes `saliency/<target label>/<stem>.png` (the map over the
    nearest-upscaled LR) and adds each map to the matching record.

    Args:
        model: the Keras DIC.
        test_set: list of `TestImage`.
        records: the `dic_tf.report.image_record.ImageRecord`s of `test_set`, same order.
        targets: `dic_tf.evaluation.saliency.Target`s.
        output_dir: output folder.
        batch_size: faces per gradient computation.

    Returns:
        {target label: {HR file name: overlay file relative to output_dir}}.

    Example:
        files = write_saliency(model, test_set, records, parse_targets("component:mouth"), "runs/eval")
    """
    lr = np.stack([item.lr for item in test_set])
    files = {}
    for target in targets:
        maps = saliency_lib.saliency_maps(model, lr, target, batch_size)
        files[target.label] = {}
        for item, record, heat in zip(test_set, records, maps):
            height, width = item.hr.shape[:2]
            upscaled = np.asarray(
                Image.fromarray(item.lr).resize((width, height), Image.Resampling.NEAREST)
            )
            overlay_file = f"{SALIENCY_DIR}/{target.label}/{file_stem(item.name)}.png"
            write_png(os.path.join(output_dir, overlay_file), heat_overlay(upscaled, heat), overwrite=True)
            files[target.label][item.name] = overlay_file
            record.saliency = {**(record.saliency or {}), target.label: heat}
    return files
