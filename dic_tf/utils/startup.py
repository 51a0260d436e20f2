"""Imports Keras (and TensorFlow or JAX) with their C++ start-up lines hidden.

TensorFlow prints CUDA stubs, CPU features and oneDNN notices on file
descriptor 2 when it is imported and when it first lists its devices; JAX
prints the platforms it could not initialise. `import dic_tf` calls
`import_keras_quietly()` once, so neither a program nor a notebook shows them;
errors still surface (an import error is raised after stderr is restored).
It also sets `TF_CPP_MIN_LOG_LEVEL=2` unless it is set (TensorFlow's C++ INFO
and WARNING lines, such as the TFLite converter's, stay hidden; its errors
show). `DIC_TF_TF_LOGS=1` changes nothing and shows them all. On a Keras backend other than TensorFlow,
TensorFlow is not imported (it need not be installed).

Example:
    from dic_tf.utils import startup

    startup.import_keras_quietly()   # what `import dic_tf` does first
"""

import contextlib
import os
import sys

TF_LOGS_ENV = "DIC_TF_TF_LOGS"


@contextlib.contextmanager
def stderr_silenced():
    """Points file descriptor 2 at /dev/null (C++ logs bypass `sys.stderr`)."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def import_keras_quietly():
    """Imports Keras and lists the backend's devices, hiding their start-up lines.

    Nothing is hidden (and `TF_CPP_MIN_LOG_LEVEL` is left alone) with
    `DIC_TF_TF_LOGS=1`, or when Keras was imported before (its lines were
    printed then).
    """
    if os.environ.get(TF_LOGS_ENV) == "1" or "keras" in sys.modules:
        import keras  # noqa: F401

        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ INFO and WARNING lines
    with stderr_silenced():
        import keras  # noqa: F401  (imports TensorFlow or JAX, the backend's framework)

        tensorflow, jax = sys.modules.get("tensorflow"), sys.modules.get("jax")
        if tensorflow is not None:
            # CUDA probing; the physical devices, so that the runtime is not started and
            # threads and collective ops can still be configured (`--inter_op_threads`,
            # `--deterministic`, `--strategy=multi_worker`).
            tensorflow.config.list_physical_devices()
        elif jax is not None:
            jax.devices()  # logs the platforms it could not initialise (TPU, CUDA)
