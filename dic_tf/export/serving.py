"""The serving graph: a `tf.Module` wrapping DIC with explicit signatures.

Clients send plain RGB images; the mean subtraction and its inverse with the
clipping (`dic_tf.layers.preprocessing.FaceImageConverter`), the final-step
selection and the landmark extraction all happen inside the graph.

Signatures (see docs/serving.md):

* `serving_default(lr)`: `lr` float32 [N, H, W, 3], RGB in [0, 1], H and W
  multiples of 64 / s for the model's scale s (8 at x8). Returns `sr` float32
  [N, sH, sW, 3] in [0, 1] (final step), `landmarks` float32 [N, K, 2] (x, y)
  in SR pixels and `heatmaps` float32 [N, sH/4, sW/4, K] (final step).
* `super_resolve_image(image_bytes)`: `image_bytes` string [N], PNG or JPEG
  faces of any size. Each is decoded, resized to `lr_size` x `lr_size`
  (bicubic with antialias, then rounded to 8 bits like the LR training
  images) and super-resolved. Returns `sr_png_bytes` string [N], PNG-encoded
  8-bit SR faces. The `_bytes` suffix makes TF Serving's REST API return
  them base64-encoded as `{"b64": ...}`.

Landmarks use the authors' peak rule (`calc_nme` in their solver, and
`dic_tf.metrics.landmarks.heatmap_peaks` + `peaks_to_image`): the first maximum of
each heatmap in row-major order, times the heatmap stride (SR size / heatmap
size = 4), with no sub-pixel refinement.
"""

import tensorflow as tf

from dic_tf.layers.preprocessing import FaceImageConverter
from dic_tf.models.dic_config import HR_SIZE, SR_SIZE_MULTIPLE

SERVING_DEFAULT = "serving_default"
SUPER_RESOLVE_IMAGE = "super_resolve_image"
SIGNATURE_NAMES = (SERVING_DEFAULT, SUPER_RESOLVE_IMAGE)
LR_SPEC = tf.TensorSpec([None, None, None, 3], tf.float32, name="lr")
IMAGE_BYTES_SPEC = tf.TensorSpec([None], tf.string, name="image_bytes")


def assert_lr_size(lr, scale=8):
    """Run-time check that the LR sides of `lr` [N, H, W, 3] divide by 64 / `scale`.

    Returns `lr` with the assertion as a control dependency, so it also holds
    inside a SavedModel where H and W are unknown when tracing.

    Example:
        lr = assert_lr_size(tf.zeros((1, 16, 16, 3)))
    """
    height, width = tf.shape(lr)[1], tf.shape(lr)[2]
    multiple, example = SR_SIZE_MULTIPLE // scale, HR_SIZE // scale
    check = tf.debugging.Assert(
        tf.logical_and(tf.equal(height % multiple, 0), tf.equal(width % multiple, 0)),
        [
            "DIC input `lr` has LR size (height x width)",
            height,
            width,
            f"; both sides must be multiples of {multiple} (e.g. {example}x{example} for "
            f"{HR_SIZE}x{HR_SIZE} faces at x{scale}).",
        ],
    )
    with tf.control_dependencies([check]):
        return tf.identity(lr)


def heatmap_landmarks(heatmaps, stride):
    """Authors' peak rule: first row-major maximum of each heatmap, times `stride`.

    Args:
        heatmaps: float32 [N, h, w, K].
        stride: int, SR pixels per heatmap cell.

    Returns:
        float32 [N, K, 2] of (x, y) SR pixel positions; equals
        `peaks_to_image(heatmap_peaks(heatmaps), stride)` of `dic_tf.metrics.landmarks`.

    Example:
        points = heatmap_landmarks(heatmaps, stride=4)  # (N, K, 2)
    """
    shape = tf.shape(heatmaps)
    width = shape[2]
    flat = tf.reshape(tf.transpose(heatmaps, (0, 3, 1, 2)), (shape[0], shape[3], -1))
    peak = tf.reduce_max(flat, axis=-1, keepdims=True)
    cells = tf.range(tf.shape(flat)[-1], dtype=tf.int32)
    first = tf.reduce_min(tf.where(flat >= peak, cells, tf.int32.max), axis=-1)
    xy = tf.stack([first % width, first // width], axis=-1)
    return tf.cast(xy * stride, tf.float32)


class DICServingModule(tf.Module):
    """Serving wrapper of a built DIC.

    Like Keras' `ExportArchive`, the module tracks the model's variables
    (`model_variables`), not the Keras model object: the SavedModel holds the
    weights and the traced graphs only, and loads without dic_tf.

    Args:
        model: a built `dic_tf.models.DIC`.
        lr_size: LR side the `super_resolve_image` signature resizes images to
            (the size the model was trained on); default `model.config.lr_size`
            (128 / scale: 16 at x8).

    Example:
        module = DICServingModule(model, lr_size=16)
        tf.saved_model.save(module, "exports/dic/1", signatures=module.signatures())
    """

    def __init__(self, model, lr_size=None):
        super().__init__(name="dic_serving")
        lr_size = lr_size or model.config.lr_size
        if lr_size % model.config.lr_size_multiple:
            raise ValueError(
                f"lr_size={lr_size} must be a multiple of {model.config.lr_size_multiple} "
                f"(DIC x{model.config.scale})."
            )
        self._hold_keras(model, FaceImageConverter(value_range="unit"))
        self.model_variables = list(model.variables)
        self.lr_size = lr_size
        self.scale = model.config.scale
        # Bound here (not as decorated methods) so the functions keep the module alive.
        self.serve = tf.function(self.run, input_signature=[LR_SPEC])
        self.super_resolve_image = tf.function(
            self._super_resolve_image, input_signature=[IMAGE_BYTES_SPEC]
        )

    @tf.__internal__.tracking.no_automatic_dependency_tracking
    def _hold_keras(self, model, converter):
        """Keeps the Keras model and the (weightless) converter out of the object
        graph (their layers need not be saveable as TF trackables, e.g. dicts keyed
        by ints); the traced signatures carry their computation."""
        self.model = model
        self.converter = converter

    def run(self, lr):
        """Forward pass (traced as `serve`): `lr` [N, H, W, 3] RGB in [0, 1] -> output dict.

        Returns:
            {"sr": [N, sH, sW, 3] in [0, 1], "landmarks": [N, K, 2],
             "heatmaps": [N, sH/4, sW/4, K]}, all float32 (s: the model's scale).
        """
        lr = assert_lr_size(tf.convert_to_tensor(lr, tf.float32), self.scale)
        outputs = self.model(self.converter(lr), training=False)
        sr = self.converter.invert(outputs["sr"][-1])
        heatmaps = outputs["heatmaps"][-1]
        stride = self.scale * tf.shape(lr)[1] // tf.shape(heatmaps)[1]
        return {
            "sr": sr,
            "landmarks": heatmap_landmarks(heatmaps, stride),
            "heatmaps": heatmaps,
        }

    def sr_only(self, lr):
        """`lr` [N, H, W, 3] in [0, 1] -> SR [N, sH, sW, 3] in [0, 1] (TFLite graph)."""
        outputs = self.model(self.converter(tf.convert_to_tensor(lr, tf.float32)), training=False)
        return self.converter.invert(outputs["sr"][-1])

    def _super_resolve_image(self, image_bytes):
        """`image_bytes` string [N] (PNG/JPEG) -> {"sr_png_bytes": string [N]}."""
        lr = tf.map_fn(
            self._decode_to_lr,
            image_bytes,
            fn_output_signature=tf.TensorSpec([self.lr_size, self.lr_size, 3], tf.float32),
        )
        sr = self.run(lr)["sr"]
        sr_uint8 = tf.cast(tf.round(sr * 255.0), tf.uint8)
        return {
            "sr_png_bytes": tf.map_fn(
                tf.io.encode_png, sr_uint8, fn_output_signature=tf.TensorSpec([], tf.string)
            )
        }

    def _decode_to_lr(self, encoded):
        """One PNG/JPEG string -> float32 [lr_size, lr_size, 3] on the 8-bit grid."""
        image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
        image = tf.image.convert_image_dtype(image, tf.float32)
        image = tf.image.resize(
            image, (self.lr_size, self.lr_size), method="bicubic", antialias=True
        )
        return tf.round(tf.clip_by_value(image, 0.0, 1.0) * 255.0) / 255.0

    def signatures(self):
        """{signature name: concrete function} for `tf.saved_model.save`."""
        return {
            SERVING_DEFAULT: self.serve.get_concrete_function(),
            SUPER_RESOLVE_IMAGE: self.super_resolve_image.get_concrete_function(),
        }
