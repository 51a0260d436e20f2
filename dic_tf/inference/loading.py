"""Model loading, image IO and preprocessing shared by predict.py (and export.py).

Images are read as 8-bit RGB. A face crop whose size is not `lr_size` x
`lr_size` is resized to it with Pillow bicubic, the resampling of the data
preparation (`dic_tf.data.preparation.resize_bicubic`), before it reaches the
network; the network then sees RGB in [0, 1] (the serving graph subtracts the
mean itself).
"""

import json
import os

import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw

from dic_tf.inference.function import InferenceFunction
from dic_tf.metrics import landmarks as landmark_metrics
from dic_tf.utils.image_space import from_model_space, to_model_space

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
DEFAULT_LR_SIZE = 16


class ImageReadError(ValueError):
    """An input file could not be read as an image; the message names the file.

    Example:
        try:
            read_rgb("broken.png")
        except ImageReadError as error:
            print(error)
    """


def load_dic(checkpoint=None, pytorch_checkpoint=None, config=None, lr_size=DEFAULT_LR_SIZE):
    """A built DIC with weights from exactly one source.

    Args:
        checkpoint: a training checkpoint directory (`dic_tf.models.saving.load_model`);
            its own config is used and `config` must be None.
        pytorch_checkpoint: an official `.pth` (or `.npz`, or a {PyTorch name:
            array} mapping), converted with `dic_tf.convert.load_official_weights`.
        config: the `DICConfig` of the official checkpoint.
        lr_size: LR side used to build the model.

    Returns:
        (model, info): info is {"kind": "checkpoint"|"pytorch_checkpoint",
        "path", "config"}, for reports.

    Example:
        model, info = load_dic(checkpoint="runs/dic/checkpoints")
    """
    if (checkpoint is None) == (pytorch_checkpoint is None):
        raise ValueError("Give exactly one of a training checkpoint or an official PyTorch checkpoint.")
    if checkpoint is not None:
        try:
            from dic_tf.models.saving import load_model
        except ImportError as error:
            raise ImportError(
                f"Loading the training checkpoint {checkpoint!r} needs dic_tf.checkpoint, which "
                f"failed to import: {error}"
            ) from error
        model, config = load_model(os.fspath(checkpoint))
        return model, _info("checkpoint", checkpoint, config)
    from dic_tf.convert import load_official_weights
    from dic_tf.models import build_dic

    if config is None:
        raise ValueError("An official PyTorch checkpoint needs its DICConfig (the config flags).")
    model = build_dic(config, lr_size=lr_size)
    load_official_weights(model, pytorch_checkpoint)
    return model, _info("pytorch_checkpoint", pytorch_checkpoint, config)


def _info(kind, source, config):
    path = os.path.abspath(source) if isinstance(source, (str, os.PathLike)) else "(in memory)"
    return {"kind": kind, "path": path, "config": config.to_dict()}


def resolve_saved_model_dir(path):
    """`path` itself if it holds a SavedModel, else its highest integer version.

    Example:
        resolve_saved_model_dir("exports/dic")  # "exports/dic/<latest version>"
    """
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    versions = sorted(
        int(name) for name in (os.listdir(path) if os.path.isdir(path) else [])
        if name.isdigit() and os.path.isfile(os.path.join(path, name, "saved_model.pb"))
    )
    if not versions:
        raise FileNotFoundError(
            f"{path!r} is neither a SavedModel directory nor a base path with numbered versions."
        )
    return os.path.join(path, str(versions[-1]))


class SavedModelPredictor:
    """Runs the `serving_default` signature of an export.

    Args:
        path: a version directory or a model base path (latest version used).

    Example:
        outputs = SavedModelPredictor("exports/dic")(lr)  # {"sr", "landmarks", "heatmaps"}
    """

    def __init__(self, path):
        self.path = resolve_saved_model_dir(path)
        self._loaded = tf.saved_model.load(self.path)
        self._signature = self._loaded.signatures["serving_default"]
        report = os.path.join(self.path, "export_report.json")
        self.lr_size = DEFAULT_LR_SIZE
        if os.path.isfile(report):
            with open(report) as f:
                self.lr_size = json.load(f).get("lr_size", DEFAULT_LR_SIZE)

    def __call__(self, lr):
        """`lr` float32 [N, H, W, 3] in [0, 1] -> {"sr", "landmarks", "heatmaps"} numpy."""
        outputs = self._signature(lr=tf.constant(lr, tf.float32))
        return {name: value.numpy() for name, value in outputs.items()}


class KerasPredictor:
    """Runs a Keras DIC with its `InferenceFunction` (compiled once, as validation and evaluate.py).

    The outputs are the serving signature's (`dic_tf.export.serving`): the final
    step's SR in [0, 1], its heatmaps and their landmarks (the authors' peak
    rule). `steps(lr)` gives every step (`dic_tf.photos.photo.run_model`).

    Example:
        outputs = KerasPredictor(model)(lr)
    """

    def __init__(self, model, lr_size=DEFAULT_LR_SIZE):
        self.model = model
        self.lr_size = lr_size
        self.forward = InferenceFunction(model)

    def steps(self, lr):
        """`lr` float32 [N, H, W, 3] in [0, 1] -> DIC's output dict (every step, model space)."""
        return self.forward(to_model_space(np.asarray(lr, np.float32), "unit"))

    def __call__(self, lr):
        """`lr` float32 [N, H, W, 3] in [0, 1] -> {"sr", "landmarks", "heatmaps"} numpy."""
        outputs = self.steps(lr)
        sr, heatmaps = outputs["sr"][-1], outputs["heatmaps"][-1]
        stride = sr.shape[1] // heatmaps.shape[1]
        points = landmark_metrics.peaks_to_image(landmark_metrics.heatmap_peaks(heatmaps), stride)
        return {"sr": from_model_space(sr, "unit"), "landmarks": points.astype(np.float32),
                "heatmaps": heatmaps}


def list_images(folder):
    """Sorted paths of the image files (by extension) directly inside `folder`.

    Example:
        list_images("faces/")
    """
    return sorted(
        os.path.join(folder, name) for name in os.listdir(folder)
        if name.lower().endswith(IMAGE_EXTENSIONS) and os.path.isfile(os.path.join(folder, name))
    )


def output_names(paths):
    """Distinct PNG file names for input images: `<stem>.png`, or `<name>.png` on a clash.

    Inputs whose stems are unique keep `<stem>.png`; inputs sharing a stem
    (a.png, a.jpg) keep their whole name (a.png.png, a.jpg.png).

    Example:
        output_names(["in/a.png", "in/a.jpg", "in/b.jpg"])
        # -> ["a.png.png", "a.jpg.png", "b.png"]

    Raises:
        ValueError naming both inputs when two would still share an output.
    """
    names = [os.path.basename(path) for path in paths]
    stems = [os.path.splitext(name)[0] for name in names]
    outputs = [
        f"{stem}.png" if stems.count(stem) == 1 else f"{name}.png"
        for name, stem in zip(names, stems)
    ]
    owner = {}
    for path, output in zip(paths, outputs):
        if output in owner:
            raise ValueError(
                f"{owner[output]} and {path} would both be written as {output}; rename one."
            )
        owner[output] = path
    return outputs


def read_rgb(path):
    """uint8 [H, W, 3] RGB of an image file; `ImageReadError` naming it otherwise.

    Example:
        image = read_rgb("face.png")  # uint8 (H, W, 3)
    """
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise ImageReadError(f"Cannot read image {path!r}: {error}") from error


def to_lr(image, lr_size):
    """uint8 [H, W, 3] face crop -> float32 [lr_size, lr_size, 3] in [0, 1].

    Resized with Pillow bicubic (as the data preparation) unless already
    `lr_size` x `lr_size`.

    Example:
        lr = to_lr(image, 16)  # float32 (16, 16, 3) in [0, 1]
    """
    if image.shape[:2] != (lr_size, lr_size):
        image = np.asarray(
            Image.fromarray(np.ascontiguousarray(image)).resize((lr_size, lr_size), Image.BICUBIC)
        )
    return image.astype(np.float32) / 255.0


def to_uint8(image):
    """float [..., 3] in [0, 1] -> uint8, rounded.

    Example:
        to_uint8(np.full((2, 2, 3), 0.5))  # all 128
    """
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def write_png(path, image):
    """Writes uint8 [H, W, 3] RGB as PNG.

    Example:
        write_png("sr.png", sr_uint8)
    """
    Image.fromarray(image).save(path, format="PNG")


def draw_landmarks(image, points, radius=1, color=(0, 255, 0)):
    """uint8 [H, W, 3] copy of `image` with a dot at each (x, y) of `points` [K, 2].

    Example:
        overlay = draw_landmarks(sr_uint8, points)
    """
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    for x, y in np.asarray(points, np.float64):
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=color)
    return np.asarray(canvas)
