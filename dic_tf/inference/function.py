"""DIC's forward pass compiled once: the inference of validation, evaluate.py and predict.py.

`InferenceFunction(model)` is called with numpy LR batches and returns numpy
outputs. It is compiled once for the model (a `tf.function` on TensorFlow, a
`jax.jit` of `stateless_call` on JAX) and reads the model's current weights
at every call, so a training run builds it once and validates with it after
any number of steps. Batches are padded to one batch size, so a short last
batch reuses the traced program instead of tracing (TensorFlow) or compiling
(JAX) another one.

On TensorFlow it runs without Grappler's arithmetic optimizer, so that two
compilations of the same weights (evaluate.py's and a training run's) give
the same bits (`_grappler_options`).

A DIC built with rematerialisation (`remat`, a training setting) runs as a
remat-free copy holding its weights: the forward graph of evaluate.py's
and predict.py's models, so validation inside a training run gives their
numbers exactly (the remat wrappers change how TensorFlow fuses the forward
ops, and so its last digits).
"""

import contextlib
import inspect

import keras
import numpy as np

from dic_tf.models.dic import DIC, build_dic
from dic_tf.utils import backend


class InferenceFunction:
    """A compiled forward pass of a DIC (or of any Keras model: the landmark networks too).

    Args:
        model: a built `DIC`.
        batch_size: batches are padded to this size (at least the largest
            batch it is called with); None: the first call's batch size,
            larger batches are split.

    Call: `lr` float32 [N, h, w, 3] in the model space (RGB in [0, 1] minus
    `RGB_MEAN`) -> the model's outputs as float32 numpy arrays, in the same
    structure; for DIC {"sr": T x [N, 8h, 8w, 3], "heatmaps": T x [N, 2h, 2w, K],
    "components": (T - 1) x [N, 2h, 2w, 5]}.

    Example:
        forward = InferenceFunction(build_dic(DICConfig.tiny()), batch_size=8)
        outputs = forward(np.zeros((3, 16, 16, 3), np.float32))
        outputs["sr"][-1].shape  # (3, 128, 128, 3)
    """

    def __init__(self, model, batch_size=None):
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"InferenceFunction: batch_size={batch_size} must be >= 1.")
        self.model = model
        self.batch_size = batch_size
        self._network = _without_remat(model)
        self._forward = _compile(self._network)

    def __call__(self, lr):
        lr = np.asarray(lr, np.float32)
        if lr.ndim != 4 or lr.shape[0] == 0:
            raise ValueError(f"InferenceFunction: lr has shape {lr.shape}; expected [N, h, w, 3], N >= 1.")
        if self.batch_size is None:
            self.batch_size = len(lr)
        if self._network is not self.model:
            self._network.set_weights(self.model.get_weights())
        parts = [self._padded_call(lr[start:start + self.batch_size])
                 for start in range(0, len(lr), self.batch_size)]
        if len(parts) == 1:
            return parts[0]
        return keras.tree.map_structure(lambda *arrays: np.concatenate(arrays), *parts)

    def _padded_call(self, lr):
        count = len(lr)
        if count < self.batch_size:
            lr = np.concatenate([lr, np.repeat(lr[-1:], self.batch_size - count, axis=0)])
        return keras.tree.map_structure(
            lambda x: np.asarray(keras.ops.convert_to_numpy(x), np.float32)[:count], self._forward(lr))


def _without_remat(model):
    """`model`, or for a DIC with `remat` a remat-free DIC of the same config (weights set per call)."""
    if not isinstance(model, DIC) or model.remat == "none":
        return model
    state = np.random.get_state()  # the numpy-drawn initial weights must not move the global stream
    try:
        return build_dic(model.config, remat="none")
    finally:
        np.random.set_state(state)


def _compile(model):
    """lr -> the model's output dict of backend tensors, compiled for the current backend."""
    # Inference mode for models with a `training` argument (BatchNorm in the stacked hourglass).
    kwargs = {"training": False} if "training" in inspect.signature(model.call).parameters else {}
    if backend.name() == "jax":
        import jax

        stateless = jax.jit(lambda trainable, non_trainable, x: model.stateless_call(
            trainable, non_trainable, x, **kwargs)[0])
        return lambda x: stateless([v.value for v in model.trainable_variables],
                                   [v.value for v in model.non_trainable_variables], x)
    import tensorflow as tf

    def forward(lr):
        return model(lr, **kwargs)

    # Keras layers need no AutoGraph conversion (it would warn about the source of a lambda).
    function = tf.function(forward, reduce_retracing=True, autograph=False)

    def call(lr):
        with _grappler_options(tf, arithmetic_optimization=False):
            return function(lr)

    return call


@contextlib.contextmanager
def _grappler_options(tf, **options):
    """TensorFlow's graph-optimizer options set for the calls inside, restored after them.

    The inference function runs without Grappler's arithmetic optimizer: with
    it, two compilations of the same x8 network (evaluate.py's model and a
    training run's validation copy, or two `InferenceFunction`s) gave outputs
    up to 4e-5 apart (which of its rewrites differs from one trace to the next
    was not found); without it they are bit-identical, at the same speed
    (docs/performance_log.md). A function is optimized when first called under
    a setting, so training steps keep TensorFlow's defaults. The setting is
    process-wide while a call runs: a function that another thread calls for
    the first time meanwhile is optimized without it too.
    """
    previous = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options(options)
    try:
        yield
    finally:
        # None clears an option that was not set before.
        tf.config.optimizer.set_experimental_options({name: previous.get(name) for name in options})
