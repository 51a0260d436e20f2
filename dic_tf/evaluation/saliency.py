"""Which LR pixels drive a landmark or a facial component (tf-keras-vis saliency).

A target is either

* `landmark:K`: the final step's heatmap of landmark K (0-based, iBUG order,
  e.g. 30 = nose tip), scored by its value at its peak; or
* `component:NAME`: the attention the final step's fusion gives the facial
  component NAME (left_eye, right_eye, nose, mouth, contour), i.e. channel
  NAME of `softmax(components[-1])`, scored by its sum over the map.

tf-keras-vis needs a functional model, so the subclassed DIC is wrapped as
`keras.Input -> DIC -> chosen output` (`functional_wrapper`). The map is
tf-keras-vis' vanilla saliency: `|d score / d lr|`, max over the RGB
channels, min-max normalised to [0, 1] per image.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf
from tf_keras_vis.saliency import Saliency

from dic_tf.layers.components import COMPONENT_NAMES
from dic_tf.utils.image_space import pixels_to_model_space

KINDS = ("landmark", "component")


@dataclasses.dataclass(frozen=True)
class Target:
    """A saliency target.

    Attributes:
        kind: "landmark" or "component".
        index: landmark index, or component index into `COMPONENT_NAMES`.

    Example:
        Target("landmark", 30)  # or Target("component", 3), the mouth
    """

    kind: str
    index: int

    @property
    def label(self):
        """`landmark_30` or `component_mouth` (file-name safe)."""
        if self.kind == "landmark":
            return f"landmark_{self.index}"
        return f"component_{COMPONENT_NAMES[self.index]}"


def parse_targets(spec, num_keypoints=68):
    """Parses `"landmark:30,component:mouth"` into `Target`s.

    Args:
        spec: comma-separated `kind:value` items; a component may be given by
            name or index.
        num_keypoints: landmarks of the model, bounding landmark indices.

    Returns:
        list of `Target` in the given order, without duplicates.

    Example:
        parse_targets("landmark:30,component:mouth")  # two Targets
    """
    targets = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        kind, _, value = item.partition(":")
        if kind not in KINDS or not value:
            raise ValueError(
                f"Saliency target {item!r}: expected 'landmark:INDEX' or 'component:NAME' "
                f"(NAME in {', '.join(COMPONENT_NAMES)})."
            )
        if kind == "landmark":
            if not value.isdigit() or int(value) >= num_keypoints:
                raise ValueError(
                    f"Saliency target {item!r}: the landmark index must be an integer in "
                    f"[0, {num_keypoints - 1}]."
                )
            target = Target(kind, int(value))
        elif value in COMPONENT_NAMES:
            target = Target(kind, COMPONENT_NAMES.index(value))
        elif value.isdigit() and int(value) < len(COMPONENT_NAMES):
            target = Target(kind, int(value))
        else:
            raise ValueError(
                f"Saliency target {item!r}: unknown component; expected one of "
                f"{', '.join(COMPONENT_NAMES)} or 0-{len(COMPONENT_NAMES) - 1}."
            )
        if target not in targets:
            targets.append(target)
    if not targets:
        raise ValueError(f"Saliency spec {spec!r} names no target.")
    return targets


def functional_wrapper(model, target, lr_size):
    """`keras.Input -> DIC -> output of the target` as a functional model.

    Args:
        model: a built DIC.
        target: a `Target`.
        lr_size: `(H, W)` of the LR input.

    Returns:
        functional `keras.Model` taking `[lr]` (normalised space,
        `[B, H, W, 3]`) and returning the final heatmaps `[B, 2H, 2W, K]` for
        a landmark target or the final attention `[B, 2H, 2W, 5]` (softmax of
        the merged heatmaps) for a component target.

    Example:
        wrapper = functional_wrapper(model, target, (16, 16))
    """
    lr = keras.Input(shape=(*lr_size, 3), name="lr")
    outputs = model(lr)
    if target.kind == "landmark":
        output = outputs["heatmaps"][-1]
    else:
        if not outputs["components"]:
            raise ValueError(
                f"Saliency target {target.label}: the model runs a single step, so no "
                "component attention exists (needs num_steps >= 2)."
            )
        output = keras.ops.softmax(outputs["components"][-1], axis=-1)
    return keras.Model([lr], output, name=f"dic_{target.label}")


def score_function(target):
    """The score of `target` on the wrapper's output.

    Returns:
        callable `[B, h, w, C] -> [B]`: the peak of the landmark's heatmap,
        or the summed attention of the component.

    Example:
        score = score_function(target)
    """
    if target.kind == "landmark":
        return lambda output: tf.reduce_max(output[..., target.index], axis=(1, 2))
    return lambda output: tf.reduce_sum(output[..., target.index], axis=(1, 2))


def saliency_maps(model, lr, target, batch_size=16):
    """Vanilla saliency of `target` with respect to the LR input.

    Args:
        model: a built DIC.
        lr: uint8 `[N, H, W, 3]` LR faces.
        target: a `Target`.
        batch_size: images per gradient computation.

    Returns:
        float32 `[N, H, W]` in [0, 1] (each image min-max normalised).

    Example:
        maps = saliency_maps(model, lr_uint8, Target("component", "mouth"))  # (N, 16, 16)
    """
    lr = np.asarray(lr)
    if lr.dtype != np.uint8 or lr.ndim != 4 or lr.shape[-1] != 3:
        raise ValueError(
            f"saliency_maps expects uint8 LR faces [N, H, W, 3], got {lr.dtype} {lr.shape}."
        )
    wrapper = functional_wrapper(model, target, lr.shape[1:3])
    saliency = Saliency(wrapper, clone=False)
    score = score_function(target)
    normalized = pixels_to_model_space(lr)
    maps = [
        saliency(score, [normalized[start:start + batch_size]])[0]
        for start in range(0, len(lr), batch_size)
    ]
    return np.concatenate(maps).astype(np.float32)
