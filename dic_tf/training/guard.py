"""The non-finite guard of a train step: apply every update or none of them.

Inside `strategy.run`, a train step computes its losses and gradients, asks
`all_replicas_finite` whether every one of them is finite on every replica,
and hands its updates to `apply_if_finite`. When anything is NaN or infinite,
no optimizer is applied (their variables, moments and step counters stay as
they were) and the step is reported as skipped; the training loop counts
skipped steps and stops with `DivergenceError` after too many.
"""

import tensorflow as tf


def all_replicas_finite(tensors):
    """Scalar bool: every tensor is finite on every replica (call in a replica context).

    Args:
        tensors: list of tensors (losses, gradients) of this replica.
    """
    finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(t)) for t in tensors])
    context = tf.distribute.get_replica_context()
    non_finite_replicas = context.all_reduce("sum", 1.0 - tf.cast(finite, tf.float32))
    return non_finite_replicas < 0.5


def apply_if_finite(all_finite, updates):
    """Applies `updates` when `all_finite`, in a replica context, under any strategy.

    Args:
        all_finite: scalar bool from `all_replicas_finite` (equal on all replicas).
        updates: list of `(optimizer, gradients, variables)`; every optimizer
            must have been built inside the strategy's scope.
    """
    gradients = [list(g) for _, g, _ in updates]

    def apply(*per_optimizer_gradients):
        for (optimizer, _, variables), grads in zip(updates, per_optimizer_gradients):
            optimizer.apply(grads, variables)
        return tf.constant(True)

    def skip():
        return tf.constant(False)

    if tf.__internal__.distribute.strategy_supports_no_merge_call():
        tf.cond(all_finite, lambda: apply(*gradients), skip)
        return
    # A cond whose branch calls merge_call (the optimizers' update) must run in
    # the cross-replica context; the gradients travel as merge_call arguments
    # so that every replica applies its own.
    def cross_replica(distribution, gradients, all_finite):
        finite = distribution.experimental_local_results(all_finite)[0]

        def apply_on_replicas():
            distribution.extended.call_for_each_replica(apply, args=tuple(gradients))
            return tf.constant(True)

        tf.cond(finite, apply_on_replicas, skip)

    tf.distribute.get_replica_context().merge_call(cross_replica, args=(gradients, all_finite))


def host_logs(logs):
    """Reduced step logs as Python floats, with `finite` turned into `skipped`.

    Args:
        logs: dict of scalar tensors summed over replicas, including `finite`
            (1.0 when the update was applied).

    Returns:
        dict of floats; `skipped` is 1.0 when a non-finite loss or gradient
        prevented the update.
    """
    logs = {k: float(v) for k, v in logs.items()}
    logs["skipped"] = 0.0 if logs.pop("finite") > 0.5 else 1.0
    return logs


def run_and_sum(strategy, step_fn, args):
    """Runs `step_fn` on every replica and sums its dict of scalar logs.

    Each replica's logs are its share of the global-batch mean, so the sum is
    the global value.
    """
    per_replica = strategy.run(step_fn, args=args)
    return {
        k: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
        for k, v in per_replica.items()
    }
