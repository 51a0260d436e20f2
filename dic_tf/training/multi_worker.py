"""Keras 3 `fit()` under `tf.distribute.MultiWorkerMirroredStrategy`.

Two steps of Keras' TensorFlow trainer fail with more than one worker
(tensorflow/tensorflow#72388, keras-team/keras#20329); the tasks route around
both and change nothing on one worker or on JAX:

* before the first step, `fit()` builds the model on the replicas' mean of the
  first batch with one `strategy.reduce` over the whole dict, which the
  collective strategy cannot do ("Attempt to convert a value ({'lr':
  PerReplica...}) to a Tensor"): `first_batch_mean` reduces leaf by leaf;
* after each step it reduces the logs with `strategy.reduce("MEAN", v, axis=0)`,
  which fails on scalars ("Invalid reduction dimension 0 for input with 0
  dimensions"): `reducible_logs` gives each scalar a batch axis of 1, so the
  reduction returns the mean over the replicas as a scalar.

Example:
    >>> logs = reducible_logs({"loss": loss})   # inside a train step
"""

import keras


def _more_than_one_worker():
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return False
    return sum(len(t) for t in resolver.cluster_spec().as_dict().values()) > 1


def first_batch_mean(strategy, iterator):
    """The replicas' elementwise mean of the first batch of a `TFEpochIterator`."""
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
    """`logs` with scalars reshaped to [1] when more than one worker trains."""
    if not _more_than_one_worker():
        return logs
    return {name: keras.ops.reshape(value, (1,)) if len(value.shape) == 0 else value
            for name, value in logs.items()}
