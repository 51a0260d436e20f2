"""The backend side of training: the strategy, the chief, replicas, and TensorFlow-only steps.

The one module of `dic_tf.training` that asks which Keras backend runs:

* distribution: `make_strategy` (`--strategy`: a `tf.distribute` strategy on
  TensorFlow; on JAX `mirrored` sets `keras.distribution.DataParallel`),
  `is_chief` (the worker that writes), `per_replica_loss` (TensorFlow sums
  the replicas' gradients), `apply_if_finite` (a step is skipped on every
  replica when one has a non-finite gradient);
* Keras 3 `fit()` under `tf.distribute.MultiWorkerMirroredStrategy`: two steps
  of Keras' TensorFlow trainer fail with more than one worker
  (tensorflow/tensorflow#72388, keras-team/keras#20329); the tasks route around
  both and change nothing on one worker or on JAX. Before the first step,
  `fit()` builds the model on the replicas' mean of the first batch with one
  `strategy.reduce` over the whole dict, which the collective strategy cannot
  do ("Attempt to convert a value ({'lr': PerReplica...}) to a Tensor"):
  `first_batch_mean` reduces leaf by leaf. After each step it reduces the logs
  with `strategy.reduce("MEAN", v, axis=0)`, which fails on scalars ("Invalid
  reduction dimension 0 for input with 0 dimensions"): `reducible_logs` gives
  each scalar a batch axis of 1, so the reduction returns the replicas' mean;
* what one backend has: `has_fused_adam` (`FusedAdam`'s one-kernel update),
  `enable_determinism`; and the defaults that differ: `default_jit_compile`;
* `DeviceMemory`: the device's name and peak memory (the benchmark's).

Example:
    strategy = make_strategy("mirrored")
    with strategy_scope(strategy):
        task = make_task(...)
    if is_chief(strategy):
        ...  # only the chief writes run.json and checkpoints
"""

import contextlib
import os
import platform
import resource

import keras
from keras import ops

from dic_tf.utils import backend

STRATEGIES = ("default", "mirrored", "multi_worker")


def _on_tensorflow():
    return backend.name() == "tensorflow"


def make_strategy(name):
    """The `tf.distribute` strategy of `--strategy=name` (TensorFlow), or None on JAX.

    On JAX, `mirrored` sets `keras.distribution.DataParallel` over the local
    devices, `default` sets nothing; `multi_worker` is TensorFlow-only.

    Raises:
        ValueError: an unknown name, a TensorFlow-only one on JAX, or
            `multi_worker` without the TF_CONFIG environment variable.

    Example:
        strategy = make_strategy("mirrored")
    """
    if name not in STRATEGIES:
        raise ValueError(f"Unknown --strategy={name!r}; expected one of {STRATEGIES}.")
    if not _on_tensorflow():
        if name == "mirrored":
            keras.distribution.set_distribution(keras.distribution.DataParallel())
        elif name != "default":
            raise ValueError(f"--strategy={name} is TensorFlow-only; on JAX use default or mirrored.")
        return None
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if "TF_CONFIG" not in os.environ:
        raise ValueError("--strategy=multi_worker needs the TF_CONFIG environment variable.")
    return tf.distribute.MultiWorkerMirroredStrategy()


def current_strategy(strategy=None):
    """`strategy`, or when None the current `tf.distribute` strategy (TensorFlow; None on JAX)."""
    if strategy is None and _on_tensorflow():
        import tensorflow as tf

        return tf.distribute.get_strategy()
    return strategy


def strategy_scope(strategy):
    """`strategy.scope()`, or a context that does nothing for None (JAX)."""
    return contextlib.nullcontext() if strategy is None else strategy.scope()


def num_replicas(strategy):
    """The replicas training in sync under `strategy` (1 for None)."""
    return getattr(strategy, "num_replicas_in_sync", 1)


def is_chief(strategy=None):
    """Whether this worker writes checkpoints, metrics and logs.

    Args:
        strategy: the run's `tf.distribute` strategy (TensorFlow); on JAX the
            chief is process 0.

    Example:
        if is_chief(strategy):
            os.makedirs(train_dir, exist_ok=True)
    """
    if not _on_tensorflow():
        import jax

        return jax.process_index() == 0
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return not has_chief and resolver.task_type == "worker" and resolver.task_id == 0


def run_facts(strategy):
    """`{"backend", "replicas"}` of a run, for run.json."""
    return {"backend": backend.name(), "replicas": num_replicas(strategy)}


def default_jit_compile():
    """The train step's `jit_compile` default: JAX only.

    Keras runs a JAX train step op by op unless it is jitted (3.5x slower for
    the demo); TensorFlow's own CPU kernels beat XLA's (docs/performance_log.md).
    """
    return backend.name() == "jax"


def enable_determinism():
    """Makes TensorFlow's ops deterministic and run one at a time (`--deterministic`); JAX: nothing.

    With concurrent ops even a forward pass differs call to call on the CPU
    (oneDNN's sums, presumably; docs/performance_log.md). Call it before the first
    op: TensorFlow's threads are fixed when its runtime starts.
    """
    if not _on_tensorflow():
        return
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    tf.config.threading.set_inter_op_parallelism_threads(1)


def has_fused_adam():
    """Whether Adam's update of a variable can be TensorFlow's one fused kernel (`FusedAdam`)."""
    return _on_tensorflow()


def per_replica_loss(loss):
    """`loss` divided by the replicas of the current `tf.distribute` strategy, whose gradients are summed.

    Unchanged on one replica and on JAX (`keras.distribution` averages).
    """
    if _on_tensorflow():
        import tensorflow as tf

        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            return loss / replicas
    return loss


def apply_if_finite(apply_updates, finite, grads):
    """Calls `apply_updates(finite, grads, cond, on_replicas)` with `finite` agreed by every replica.

    A stateful optimizer's step (`GroupedAdam.apply`) branches on `finite`
    with `cond(pred, true_fn, false_fn)` and runs each variable update as
    `on_replicas(update, grads, variables)`. TensorFlow: `finite` is true only
    if it is on every replica of the current replica context (one all-reduce),
    the branches are `tf.cond`s, and under a strategy that needs `merge_call`
    they run in the cross-replica context (as `LossScaleOptimizer` does: a cond
    whose branch calls merge_call, as Adam's update does, must). Other
    backends: `ops.cond` and a direct call.

    Args:
        apply_updates: `(finite, grads, cond, on_replicas) -> None`.
        finite: this replica's bool scalar, all of `grads` finite.
        grads: the gradients, passed on to `apply_updates`.
    """
    if not _on_tensorflow():
        apply_updates(finite, grads, ops.cond, lambda f, *a: f(*a))
        return
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        bad = context.all_reduce("sum", 1.0 - ops.cast(finite, "float32"))
        finite = bad < 0.5
    if tf.__internal__.distribute.strategy_supports_no_merge_call():
        apply_updates(finite, grads, tf.cond, lambda f, *a: f(*a))
        return

    def cross_replica(distribution, grads, finite):
        finite = distribution.experimental_local_results(finite)[0]
        apply_updates(finite, grads, tf.cond,
                      lambda f, *a: distribution.extended.call_for_each_replica(f, args=a))

    context.merge_call(cross_replica, args=(grads, finite))


def _more_than_one_worker():
    if not _on_tensorflow():
        return False
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return False
    return sum(len(t) for t in resolver.cluster_spec().as_dict().values()) > 1


def first_batch_mean(strategy, iterator):
    """The replicas' elementwise mean of the first batch of a `TFEpochIterator` (TensorFlow trainer)."""
    import tensorflow as tf

    for _, _, batches in iterator:
        batch = next(batches)
        break
    return keras.tree.map_structure(
        lambda v: strategy.reduce("MEAN", v, axis=None)
        if isinstance(v, tf.distribute.DistributedValues) else v,
        batch,
    )


def reducible_logs(logs):
    """`logs` with scalars reshaped to [1] when more than one worker trains.

    Example:
        >>> logs = reducible_logs({"loss": loss})   # inside a train step
    """
    if not _more_than_one_worker():
        return logs
    return {name: keras.ops.reshape(value, (1,)) if len(value.shape) == 0 else value
            for name, value in logs.items()}


def cpu_name():
    """The CPU model from /proc/cpuinfo, else `platform.processor()`."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "CPU"


def cpu_peak_bytes():
    """Peak resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class DeviceMemory:
    """The first accelerator of the backend (else the CPU): its name and peak memory.

    GPU: the device allocator's peak (TensorFlow: since `reset`; JAX:
    `peak_bytes_in_use`, cumulative over the process, `reset` does nothing).
    CPU: the process' peak resident set size (cumulative).

    Example:
        memory = DeviceMemory()
        memory.reset()
        run()
        print(memory.device, memory.peak())
    """

    def __init__(self):
        self._tensorflow = _on_tensorflow()
        if self._tensorflow:
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            self.gpu = bool(gpus)
            self.device = tf.config.experimental.get_device_details(gpus[0]).get(
                "device_name", "GPU") if gpus else cpu_name()
        else:
            import jax

            self.gpu = jax.devices()[0].platform == "gpu"
            self.device = jax.devices()[0].device_kind if self.gpu else cpu_name()

    def reset(self):
        """Restarts the peak (TensorFlow's GPU allocator only)."""
        if self.gpu and self._tensorflow:
            import tensorflow as tf

            tf.config.experimental.reset_memory_stats("GPU:0")

    def peak(self):
        """Peak bytes in use (see the class docstring)."""
        if not self.gpu:
            return cpu_peak_bytes()
        if self._tensorflow:
            import tensorflow as tf

            return tf.config.experimental.get_memory_info("GPU:0")["peak"]
        import jax

        return jax.devices()[0].memory_stats()["peak_bytes_in_use"]
