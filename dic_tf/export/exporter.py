"""Writes one versioned export: `<export_base>/<version>/`, atomically.

Layout of a version directory (TF Serving reads the SavedModel part, and
ignores the rest):

    saved_model.pb, variables/, fingerprint.pb   the SavedModel (signatures
                                                 of `dic_tf.export.serving`)
    assets.extra/tf_serving_warmup_requests      one PredictionLog per signature
    dic.keras, dic.weights.h5                    the Keras model
    dic_<variant>.tflite                         TFLite variants, if asked
    export_report.json                           config, sizes and accuracy

Everything is written into a temporary sibling `<export_base>/.tmp-<version>-*`
(TF Serving only loads directories named by an integer) and renamed to
`<version>` with `os.replace` at the end; on any failure the temporary
directory is removed, so no partial version is ever visible.
"""

import os
import shutil

import keras
import numpy as np
import tensorflow as tf

from dic_tf import metrics
from dic_tf.export import tflite, warmup
from dic_tf.export.serving import DICServingModule
from dic_tf.utils import atomic
from dic_tf.utils.image_space import to_model_space
from dic_tf.utils.resize import upscale_bicubic

KERAS_FILE = "dic.keras"
WEIGHTS_FILE = "dic.weights.h5"
REPORT_FILE = "export_report.json"


def existing_versions(export_base):
    """Sorted integer version directories under `export_base`.

    Example:
        existing_versions("exports/dic")  # [1, 2]
    """
    if not os.path.isdir(export_base):
        return []
    return sorted(
        int(name) for name in os.listdir(export_base)
        if name.isdigit() and os.path.isdir(os.path.join(export_base, name))
    )


def next_version(export_base):
    """1 + the highest existing version, or 1.

    Example:
        next_version("exports/dic")  # 3
    """
    versions = existing_versions(export_base)
    return versions[-1] + 1 if versions else 1


def evaluation_inputs(lr_size, count=4, seed=0):
    """Deterministic smooth LR images float32 [count, lr_size, lr_size, 3] in [0, 1]
    (bicubic-enlarged 4x4 noise), used to compare the exported models.

    Example:
        evaluation_inputs(16).shape  # (4, 16, 16, 3)
    """
    coarse = np.random.default_rng(seed).uniform(size=(count, 4, 4, 3)).astype(np.float32)
    images = tf.image.resize(coarse, (lr_size, lr_size), method="bicubic")
    return np.clip(images.numpy(), 0.0, 1.0)


def bicubic_baseline(lr, scale):
    """evaluate.py's bicubic baseline of float32 [N, h, w, 3] LR in [0, 1], back in [0, 1].

    The LR is rounded to 8 bits and enlarged x`scale` with Pillow bicubic
    (`dic_tf.utils.resize.upscale_bicubic`), as evaluate.py and validation do.

    Example:
        bicubic_baseline(lr, 8).shape  # (N, 128, 128, 3)
    """
    pixels = metrics.normalized_to_uint8(np.asarray(lr, np.float32), mean=(0.0, 0.0, 0.0))
    return np.stack([upscale_bicubic(image, scale) for image in pixels]).astype(np.float32) / 255.0


def export(
    model,
    export_base,
    version=None,
    lr_size=None,
    model_name="dic",
    tflite_variants=(),
    source=None,
    validation=None,
):
    """Exports a built DIC as `<export_base>/<version>/` (see the module docstring).

    Args:
        model: a built `dic_tf.models.DIC` with its final weights.
        export_base: the TF Serving model base path, e.g. `saved_models/dic`.
        version: positive int; default `next_version(export_base)`.
        lr_size: LR side of `super_resolve_image`, the warm-up and TFLite input;
            default `model.config.lr_size` (128 / scale).
        model_name: TF Serving `--model_name`, stored in the warm-up requests.
        tflite_variants: subset of `tflite.VARIANTS` to convert.
        source: description of the weights' origin, stored in the report.
        validation: the weights' validation record (`load_dic`'s
            `info["validation"]`), stored in the report as "validation" for
            `dic_tf.photos` (a model not above bicubic there is not used).

    Returns:
        The report dict (also written to `export_report.json`); its "path" is
        the version directory.

    Example:
        report = export(model, "exports/dic", lr_size=16)
    """
    version = next_version(export_base) if version is None else int(version)
    lr_size = lr_size or model.config.lr_size
    if version < 1:
        raise ValueError(f"Export version must be a positive integer, got {version}.")
    final_dir = os.path.join(export_base, str(version))
    if os.path.exists(final_dir):
        raise FileExistsError(
            f"Export version directory {final_dir!r} already exists; pick another --version "
            "or leave it unset for the next one."
        )
    work_dir = atomic.make_staging_dir(export_base, prefix=f".tmp-{version}-")
    try:
        report = _write_version(
            model, work_dir, lr_size, model_name, tflite_variants, source, version
        )
        report["validation"] = validation
        report["path"] = os.path.abspath(final_dir)
        _write_json(os.path.join(work_dir, REPORT_FILE), report)
        os.replace(work_dir, final_dir)
    except BaseException:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise
    return report


def _write_version(model, work_dir, lr_size, model_name, tflite_variants, source, version):
    module = DICServingModule(model, lr_size=lr_size)
    samples = evaluation_inputs(lr_size)
    keras_sr = module.serve(samples)["sr"].numpy()

    tf.saved_model.save(module, work_dir, signatures=module.signatures())
    warmup.write_warmup_file(work_dir, warmup.warmup_requests(model_name, lr_size))
    loaded = tf.saved_model.load(work_dir)
    saved_sr = loaded.signatures["serving_default"](lr=tf.constant(samples))["sr"].numpy()

    model.save(os.path.join(work_dir, KERAS_FILE))
    model.save_weights(os.path.join(work_dir, WEIGHTS_FILE))
    reloaded = keras.models.load_model(os.path.join(work_dir, KERAS_FILE))
    normalized = to_model_space(samples, "unit")
    keras_raw = np.asarray(model(normalized)["sr"][-1])
    reloaded_raw = np.asarray(reloaded(normalized)["sr"][-1])

    report = {
        "version": version,
        "model_name": model_name,
        "source": source,
        "config": model.config.to_dict(),
        "lr_size": lr_size,
        "signatures": sorted(loaded.signatures),
        "evaluation_inputs": f"{len(samples)} smooth synthetic LR images (evaluation_inputs)",
        "psnr_definition": "RGB in [0, 1], all pixels, peak 1",
        "saved_model": {"max_abs_diff_vs_keras": _max_abs(saved_sr, keras_sr)},
        "keras": {
            "files": [KERAS_FILE, WEIGHTS_FILE],
            "reload_max_abs_diff": _max_abs(reloaded_raw, keras_raw),
        },
        "bicubic_baseline": {
            "psnr_vs_keras_db": tflite.psnr(bicubic_baseline(samples, model.config.scale), keras_sr)
        },
        "tflite": [],
    }
    if tflite_variants:
        frozen = tflite.frozen_sr_function(module, lr_size)
        fp32_sr = None
        for variant in tflite_variants:
            content = tflite.convert(frozen, variant)
            file_name = f"dic_{variant}.tflite"
            with open(os.path.join(work_dir, file_name), "wb") as f:
                f.write(content)
            sr = tflite.run_tflite(content, samples)
            fp32_sr = sr if variant == "fp32" else fp32_sr
            report["tflite"].append(
                {
                    "variant": variant,
                    "file": file_name,
                    "bytes": len(content),
                    "max_abs_diff_vs_keras": _max_abs(sr, keras_sr),
                    "psnr_vs_keras_db": tflite.psnr(sr, keras_sr),
                    "sr": sr,
                }
            )
        reference = fp32_sr if fp32_sr is not None else keras_sr
        report["tflite_reference"] = "tflite fp32" if fp32_sr is not None else "keras"
        for row in report["tflite"]:
            row["psnr_vs_fp32_db"] = tflite.psnr(row.pop("sr"), reference)
        report["bicubic_baseline"]["psnr_vs_fp32_db"] = tflite.psnr(
            bicubic_baseline(samples, model.config.scale), reference
        )
    return report


def _max_abs(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def _finite_or_none(value):
    """Strict JSON: infinite PSNR (identical outputs) is written as null."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_or_none(v) for v in value]
    return value


def _write_json(path, value):
    atomic.write_json(path, _finite_or_none(value), indent=2, allow_nan=False)


def format_report(report):
    """A plain-text table of the export's accuracy and sizes.

    Example:
        print(format_report(report))
    """
    lines = [
        f"export {report['path']} (version {report['version']})",
        f"  SavedModel vs Keras        max |diff| {report['saved_model']['max_abs_diff_vs_keras']:.2e}",
        f"  .keras reload vs Keras     max |diff| {report['keras']['reload_max_abs_diff']:.2e}",
    ]
    if report["tflite"]:
        reference = report["tflite_reference"]
        header = f"  {'model':<14}{'bytes':>12}{'max|diff| vs keras':>20}{'PSNR vs keras':>15}"
        header += f"{'PSNR vs ' + reference:>20}"
        lines.append(header)
        for row in report["tflite"]:
            lines.append(
                f"  {row['variant']:<14}{row['bytes']:>12,}{row['max_abs_diff_vs_keras']:>20.2e}"
                f"{row['psnr_vs_keras_db']:>12.2f} dB{row['psnr_vs_fp32_db']:>17.2f} dB"
            )
        baseline = report["bicubic_baseline"]
        lines.append(
            f"  {'bicubic':<14}{'-':>12}{'-':>20}{baseline['psnr_vs_keras_db']:>12.2f} dB"
            f"{baseline['psnr_vs_fp32_db']:>17.2f} dB"
        )
    return "\n".join(lines)
