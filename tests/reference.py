"""Reference vectors of the authors' PyTorch code (float64), copied in tests/fixtures.

Used by tests/test_model_parity.py on every backend (`tests/backend_param.py`).
"""

import json
import pathlib
import zlib

import numpy as np

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
# Relative L2 error allowed against the float64 reference (float32 rounding).
PARITY_TOLERANCE = 1e-4
DIC_FIXTURES = ("dic_tiny", "dic_tiny_24", "dic_x8")
HOURGLASS_FIXTURES = ("hg_tiny", "hg_x8")


def load(name):
    """(arrays, json) of a fixture."""
    with open(FIXTURES / f"{name}.json") as f:
        meta = json.load(f)
    return np.load(FIXTURES / f"{name}.npz"), meta


def state_dict(arrays, spec):
    """The PyTorch state dict: shipped `w:` arrays, else rebuilt from the spec.

    The recipe is the reference's: noise from `default_rng(crc32(name))`,
    `mean + std * noise` (with `abs(noise)` where the spec says so).
    """
    shipped = {k[2:]: arrays[k] for k in arrays.files if k.startswith("w:")}
    if shipped:
        return shipped
    weights = {}
    for entry in spec:
        noise = np.random.default_rng(zlib.crc32(entry["name"].encode())).standard_normal(
            tuple(entry["shape"])
        )
        if entry.get("abs"):
            noise = np.abs(noise)
        weights[entry["name"]] = entry["mean"] + entry["std"] * noise
    return weights


def relative_error(actual, expected):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    return float(np.linalg.norm(actual - expected) / np.linalg.norm(expected))


def dic_config(meta):
    from dic_tf.models.dic_config import DICConfig

    c = meta["config"]
    return DICConfig(
        scale=c["scale"],
        num_features=c["num_features"],
        num_steps=c["num_steps"],
        num_groups=c["num_groups"],
        hg_num_features=c["hg_num_feature"],
        num_keypoints=c["hg_num_keypoints"],
        num_fusion_blocks=c["num_fusion_block"],
        detach_attention=c["detach_attention"],
    )


def dic_errors(name):
    """{'sr_t', 'heatmap_t', 'merged_t': relative error} of DIC against a fixture.

    The SR is compared as its residual over the bilinear x8 upsample of the input.
    """
    from dic_tf.convert import load_official_weights
    from dic_tf.layers import bilinear_upsample
    from dic_tf.models import build_dic

    arrays, meta = load(name)
    model = build_dic(dic_config(meta), lr_size=meta["config"]["lr_size"])
    load_official_weights(model, state_dict(arrays, meta["spec"]))
    lr = arrays["input"]
    outputs = model(lr)
    upsampled = np.asarray(bilinear_upsample(lr, 8, align_corners=False))
    errors = {}
    for t in range(model.config.num_steps):
        errors[f"sr_{t}"] = relative_error(
            np.asarray(outputs["sr"][t]) - upsampled, arrays[f"sr_{t}"] - upsampled
        )
        errors[f"heatmap_{t}"] = relative_error(outputs["heatmaps"][t], arrays[f"heatmap_{t}"])
        if t:
            errors[f"merged_{t}"] = relative_error(
                outputs["components"][t - 1], arrays[f"merged_{t}"]
            )
    return errors


def hourglass_errors(name):
    from dic_tf.convert import load_official_weights
    from dic_tf.models import build_stacked_hourglass

    arrays, meta = load(name)
    c = meta["config"]
    model = build_stacked_hourglass(c["num_feature"], c["num_stack"], c["num_keypoints"])
    load_official_weights(model, state_dict(arrays, meta["spec"]))
    return {"heatmap": relative_error(model(arrays["input"], training=False), arrays["heatmap"])}


def lightcnn_errors():
    from dic_tf.convert import load_official_weights
    from dic_tf.models import build_lightcnn

    arrays, meta = load("lightcnn")
    errors = {}
    for kind in ("discriminator", "features"):
        model = build_lightcnn(kind)
        load_official_weights(model, state_dict(arrays, meta[kind]["spec"]))
        errors[kind] = relative_error(model(arrays[f"{kind}_input"]), arrays[f"{kind}_out"])
    return errors


def merge_errors():
    from dic_tf.layers import merge_heatmaps

    data = np.load(FIXTURES / "data.npz")
    return {
        f"merged{k}": relative_error(
            merge_heatmaps(data[f"heatmaps{k}"].astype("float32")), data[f"merged{k}"]
        )
        for k in (68, 194)
    }
