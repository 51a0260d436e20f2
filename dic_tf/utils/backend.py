"""Which Keras backend runs: asked here and nowhere else in dic_tf.

Four modules branch on the answer, each for one concern: the training input
(`dic_tf.data.inputs`), distribution (`dic_tf.training.distribution`), the
compiled forward pass (`dic_tf.inference.function`) and the deconvolution's
implementation (`dic_tf.layers.conv_blocks`). What needs one backend (DICGAN,
mtcnn, TensorFlow's thread flags) calls `require`, which refuses the others in
one line.

Example:
    from dic_tf.utils import backend

    backend.name()               # "tensorflow" or "jax"
    backend.require("--mode=dicgan")
"""

import keras


def name():
    """The Keras backend of this process: "tensorflow", "jax", "torch" or "numpy"."""
    return keras.backend.backend()


def require(what, needed="tensorflow"):
    """Raises a one-line ValueError unless Keras runs on `needed`.

    Args:
        what: what needs it, e.g. "--mode=dicgan".
        needed: the Keras backend it needs.

    Example:
        require("--mode=dicgan")   # DICGAN's conds are TensorFlow's
    """
    current = name()
    if current != needed:
        raise ValueError(f"{what} needs the {needed} Keras backend, but Keras runs on {current}: "
                         f"run with KERAS_BACKEND={needed}.")
