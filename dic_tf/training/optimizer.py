"""One optimizer for every parameter group of a DIC stage, behind a non-finite guard.

`GroupedAdam` holds one Adam per parameter group (the variables whose path has
a given layer name, e.g. `hourglass`), each with its own start step and
learning rate, and a default group for every other variable. Keras' `fit()`
carries only `model.optimizer`'s variables (on JAX they travel through the
jitted step), so the groups live in one optimizer:

* a group with start step `s` is updated from global step `s` on (0-based);
  before that its variables and its Adam are untouched, and its Adam's moments
  and bias-correction count start at `s` (PyTorch's per-parameter state);
* a step whose gradients are not all finite (on any replica) updates nothing;
  `nonfinite_steps` counts consecutive such steps (0 after a good step) and
  `skipped_steps` all of them;
* `iterations` counts every step the optimizer sees; the learning rates are
  their schedules at `iterations`.

Each group's Adam is a `FusedAdam`: Keras' Adam whose TensorFlow update is one
fused kernel per variable (a shorter first-step trace).

Wrapped in `keras.optimizers.LossScaleOptimizer` (float16), steps whose scaled
gradients overflow never reach `GroupedAdam`: they are loss-scaling steps, not
divergence, and count in neither counter.
"""

import keras
from keras import ops

from dic_tf.training import distribution

# PyTorch's Adam defaults (the authors' optimiser); Keras' epsilon is 1e-7.
ADAM_EPSILON = 1e-8
DEFAULT_GROUP = "default"


def _group_of(variable, names):
    parts = variable.path.split("/")
    return next((name for name in names if name in parts), DEFAULT_GROUP)


@keras.saving.register_keras_serializable(package="dic_tf")
class FusedAdam(keras.optimizers.Adam):
    """Keras' Adam whose TensorFlow update of a variable is one fused kernel.

    `tf.raw_ops.ResourceApplyAdam` computes Keras' Adam formula in Keras' order
    (m += (g - m)(1 - b1), v += (g^2 - v)(1 - b2),
    w -= m lr sqrt(1 - b2^t) / (1 - b1^t) / (sqrt(v) + eps)) as one op where
    `Adam.update_step` builds about thirty (the first `fit()` step of a micro
    DIC: 10.4k graph ops instead of 14.1k; docs/performance_log.md, "Start-up",
    has the times). Its second moments differ from Keras' by 1.3e-5 relative,
    because the kernel computes 1 - beta_2 in float32 (0.00099998713, where
    Keras and PyTorch use 0.001), so an update differs by up to 6.5e-6
    relative: weights of unit size agree to 5e-8 after three steps, a
    zero-initialised bias after one step (all update) to 6.7e-6. Other
    backends, and `amsgrad`, use Keras' update.

    Example:
        >>> adam = FusedAdam(1e-4, epsilon=1e-8)
        >>> adam.apply(grads, variables)
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or not distribution.has_fused_adam():
            return super().update_step(gradient, variable, learning_rate)
        import tensorflow as tf

        dtype = variable.dtype
        index = self._get_variable_index(variable)
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.constant(self.beta_1, dtype), tf.constant(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].value.handle,
            v=self._velocities[index].value.handle, beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step), lr=tf.cast(learning_rate, dtype), beta1=beta_1,
            beta2=beta_2, epsilon=tf.constant(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype))


@keras.saving.register_keras_serializable(package="dic_tf")
class GroupedAdam(keras.optimizers.Optimizer):
    """Adam per parameter group, each from its own step, applied only when all is finite.

    Args:
        learning_rate: float or `LearningRateSchedule` of the global step, the
            default group's rate (and every group's without its own).
        start_steps: {layer name: first step that updates that group}; a
            variable belongs to the first named layer in its path.
        group_learning_rates: {layer name: float or schedule} for groups with
            their own rate (DICGAN's discriminator).
        beta_1, beta_2, epsilon: Adam's; defaults are PyTorch's.

    Example:
        >>> optimizer = GroupedAdam(1e-4, start_steps={"hourglass": 2000})
        >>> model.compile(optimizer=optimizer)      # model: a DIC task
    """

    def __init__(self, learning_rate=1e-4, start_steps=None, group_learning_rates=None,
                 beta_1=0.9, beta_2=0.999, epsilon=ADAM_EPSILON, name="grouped_adam", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.start_steps = dict(start_steps or {})
        self.group_learning_rates = {
            k: keras.optimizers.schedules.deserialize(v) if isinstance(v, dict) else v
            for k, v in (group_learning_rates or {}).items()
        }
        unknown = set(self.group_learning_rates) - set(self.start_steps)
        if unknown:
            raise ValueError(f"group_learning_rates names groups without a start step: {unknown}")
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.nonfinite_steps = self.add_variable(
            (), initializer="zeros", dtype="int32", aggregation="only_first_replica",
            name="nonfinite_steps",
        )
        self.skipped_steps = self.add_variable(
            (), initializer="zeros", dtype="int32", aggregation="only_first_replica",
            name="skipped_steps",
        )
        names = list(self.start_steps)
        groups = []
        for group in [DEFAULT_GROUP] + names:
            indices = [i for i, v in enumerate(var_list) if _group_of(v, names) == group]
            if not indices:
                continue
            adam = FusedAdam(0.0, self.beta_1, self.beta_2, self.epsilon, name=f"{group}_adam")
            adam.build([var_list[i] for i in indices])
            groups.append((group, indices, adam))
        self.groups = groups

    @property
    def variables(self):
        inner = [v for _, _, adam in getattr(self, "groups", []) for v in adam.variables]
        return self._variables + inner

    def group_learning_rate(self, group, step):
        """The learning rate of `group` at global step `step`."""
        rate = self.group_learning_rates.get(group, self._learning_rate)
        if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
            return ops.cast(rate(step), "float32")
        return ops.cast(rate, "float32")

    def _start(self, group):
        return self.start_steps.get(group, 0)

    def _local_finite(self, grads):
        return ops.all(ops.stack([ops.all(ops.isfinite(g)) for g in grads if g is not None]))

    # Stateless (JAX): one `cond` per group, so a skipped group computes nothing
    # (a `where` per variable made XLA's compile of the DIC step 6x longer).
    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        optimizer_variables = [ops.convert_to_tensor(v) for v in optimizer_variables]
        trainable_variables = [ops.convert_to_tensor(v) for v in trainable_variables]
        own = {v.name: i for i, v in enumerate(self._variables)}
        step = optimizer_variables[own["iteration"]]
        finite = self._local_finite(grads)
        new_trainable = list(trainable_variables)
        new_optimizer = list(optimizer_variables)
        offset = len(self._variables)
        for group, indices, adam in self.groups:
            count = len(adam.variables)
            old_adam = optimizer_variables[offset:offset + count]
            adam_values = list(old_adam)
            lr_index = next(i for i, v in enumerate(adam.variables) if v.name == "learning_rate")
            adam_values[lr_index] = self.group_learning_rate(group, step)
            group_grads = [grads[i] for i in indices]
            group_variables = [trainable_variables[i] for i in indices]

            def update(adam=adam, adam_values=adam_values, grads=group_grads,
                       variables=group_variables):
                values, adam_values = adam.stateless_apply(adam_values, grads, variables)
                return list(values), list(adam_values)

            applies = ops.logical_and(finite, ops.greater_equal(step, self._start(group)))
            values, adam_values = ops.cond(
                applies, update, lambda v=group_variables, a=old_adam: (list(v), list(a))
            )
            for i, value in zip(indices, values):
                new_trainable[i] = value
            new_optimizer[offset:offset + count] = adam_values
            offset += count
        bad = ops.cast(ops.logical_not(finite), "int32")
        n = optimizer_variables[own["nonfinite_steps"]]
        new_optimizer[own["nonfinite_steps"]] = (n + 1) * bad
        new_optimizer[own["skipped_steps"]] = optimizer_variables[own["skipped_steps"]] + bad
        new_optimizer[own["iteration"]] = step + 1
        return new_trainable, new_optimizer

    # Stateful (TensorFlow): the same through conds, under any tf.distribute strategy.
    def apply(self, grads, trainable_variables=None):
        if not self.built:
            self.build(list(trainable_variables))
        grads = list(grads)
        distribution.apply_if_finite(self._apply_updates, self._local_finite(grads), grads)

    def _apply_updates(self, finite, grads, cond, on_replicas):
        step = ops.convert_to_tensor(self._iterations)

        def good():
            for group, indices, adam in self.groups:
                adam.learning_rate.assign(self.group_learning_rate(group, step))

                def update(g, v, adam=adam):
                    adam.apply(g, v)

                args = ([grads[i] for i in indices], [self._trainable_variables[i] for i in indices])
                if self._start(group) <= 0:
                    on_replicas(update, *args)
                else:
                    cond(step >= self._start(group), lambda a=args, u=update: on_replicas(u, *a),
                         lambda: None)
            self.nonfinite_steps.assign(0)

        def bad():
            self.nonfinite_steps.assign_add(1)
            self.skipped_steps.assign_add(1)

        cond(finite, good, bad)
        self._iterations.assign_add(1)

    def get_config(self):
        config = super().get_config()
        config.update(
            start_steps=self.start_steps,
            group_learning_rates={
                k: keras.optimizers.schedules.serialize(v)
                if isinstance(v, keras.optimizers.schedules.LearningRateSchedule) else v
                for k, v in self.group_learning_rates.items()
            },
            beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon,
        )
        return config


def guarded_optimizer(optimizer):
    """The `GroupedAdam` of `model.optimizer` (inside a `LossScaleOptimizer` for float16)."""
    return getattr(optimizer, "inner_optimizer", optimizer)
