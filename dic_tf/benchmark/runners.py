"""Timing and the backend runners of the benchmark: one closure per measured call.

`TensorFlowRunner` and `JaxRunner` build the inference and `fit()`-step
closures of a model on their backend (the device and its peak memory are
`dic_tf.training.distribution.DeviceMemory`'s); `time_calls` times a closure.

Example:
    runner = TensorFlowRunner(jit=False)
    first, times, cpu = time_calls(runner.inference(model, lr), repeats=5)
"""

import resource
import time


def time_calls(fn, repeats):
    """Times `fn` (which must block): the first call, then `repeats` more.

    Returns:
        `(first call seconds, [seconds of each further call], cpu)`: cpu has
        `user_s`, `system_s` and `minor_faults` summed over the further calls.
    """
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    times = []
    before = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = {
        "user_s": after.ru_utime - before.ru_utime,
        "system_s": after.ru_stime - before.ru_stime,
        "minor_faults": after.ru_minflt - before.ru_minflt,
    }
    return first, times, cpu


class TensorFlowRunner:
    """Inference and train-step closures on the TensorFlow backend."""

    def __init__(self, jit):
        import tensorflow as tf

        self.tf = tf
        self.jit = jit

    def inference(self, model, lr):
        forward = self.tf.function(model, jit_compile=self.jit)
        lr = self.tf.constant(lr)
        return lambda: [t.numpy() for t in self.tf.nest.flatten(forward(lr))]

    def train_step(self, model, batch):
        return fit_step(model, {k: self.tf.constant(v) for k, v in batch.items()}, self.jit)


class JaxRunner:
    """Inference and train-step closures on the JAX backend (no TensorFlow)."""

    def __init__(self, jit):
        import jax

        self.jax = jax

    def inference(self, model, lr):
        jax = self.jax
        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        forward = jax.jit(lambda t, n, x: model.stateless_call(t, n, x)[0])
        lr = jax.device_put(lr)
        return lambda: jax.block_until_ready(forward(trainable, non_trainable, lr))

    def train_step(self, model, batch):
        return fit_step(model, {k: self.jax.device_put(v) for k, v in batch.items()}, True)


def fit_step(model, batch, jit):
    """One `fit()` train step of the paper's recipe (hourglass released) as a closure."""
    from dic_tf.training.tasks import DICTask

    task = DICTask(model)
    task.compile(release_hourglass_step=0, jit_compile=jit)
    return lambda: task.train_on_batch(batch)
