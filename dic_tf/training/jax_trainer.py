"""The DIC train step on the JAX backend: one jitted pure function per step kind.

The same optimisation as the TensorFlow `trainer.DICTrainer`, written with
Keras 3's stateless API so that `jax.jit` compiles the whole step:

  1. `model.stateless_call` runs DIC on the batch from explicit weight values,
     and `losses.dic_losses` gives the iterative loss;
  2. `jax.value_and_grad` differentiates it with respect to every weight, so
     the heatmap loss reaches the SR branch through the frozen hourglass;
  3. if the loss and every gradient are finite, the SR Adam
     (`optimizer.stateless_apply`) updates the SR branch and, from
     `TrainConfig.release_hourglass_step` on, the hourglass Adam updates the
     hourglass; otherwise the state is returned unchanged.

The step takes and returns a `state` dict of arrays (weights and both Adams'
variables); `sync()` writes it back into the Keras variables, after which
`model.save_weights` gives a `.weights.h5` that the TensorFlow model loads.
Requires `KERAS_BACKEND=jax`; TensorFlow is not imported.
"""

import functools

import jax
import jax.numpy as jnp
import keras
import numpy as np

from dic_tf.training.common import TrainConfig, make_adam, split_variables
from dic_tf.training.losses import dic_losses

# The batch entries a train step reads (`FacePyDataset` batches have more).
BATCH_KEYS = ("lr", "hr", "heatmaps")


def _learning_rate_index(optimizer):
    """Position of the learning-rate variable among `optimizer.variables`."""
    for index, variable in enumerate(optimizer.variables):
        if variable.name == "learning_rate":
            return index
    raise ValueError(f"{optimizer.name} holds no learning_rate variable.")


class JaxDICTrainer:
    """Owns the weights' values, both Adams and the jitted train steps of a DIC model.

    Args:
        model: a built `DIC` (on the JAX backend).
        config: `common.TrainConfig`; `loss_scale` must be False (float16 loss
            scaling is TensorFlow-only; bfloat16 needs none).
    """

    def __init__(self, model, config=None):
        if keras.backend.backend() != "jax":
            raise RuntimeError(
                f"JaxDICTrainer needs KERAS_BACKEND=jax; the backend is {keras.backend.backend()!r}."
            )
        config = config or TrainConfig()
        if config.loss_scale:
            raise ValueError("JaxDICTrainer: TrainConfig.loss_scale is TensorFlow-only; set it False.")
        self.model = model
        self.config = config
        self.sr_variables, self.hg_variables = split_variables(model)
        self.sr_optimizer = make_adam(config.learning_rate, "sr_adam")
        self.hg_optimizer = make_adam(config.learning_rate, "hg_adam")
        self.sr_optimizer.build(self.sr_variables)
        self.hg_optimizer.build(self.hg_variables)
        position = {id(v): i for i, v in enumerate(model.trainable_variables)}
        self._sr_positions = [position[id(v)] for v in self.sr_variables]
        self._hg_positions = [position[id(v)] for v in self.hg_variables]
        self._lr_index = {
            "sr_adam": _learning_rate_index(self.sr_optimizer),
            "hg_adam": _learning_rate_index(self.hg_optimizer),
        }
        self.state = self._read_state()
        self._steps = {
            release: jax.jit(functools.partial(self._train_step, release), donate_argnums=0)
            for release in (False, True)
        }

    @property
    def optimizers(self):
        return {"sr_adam": self.sr_optimizer, "hg_adam": self.hg_optimizer}

    def _read_state(self):
        def values(variables):
            return [jnp.asarray(v.value) for v in variables]

        return {
            "sr": values(self.sr_variables),
            "hg": values(self.hg_variables),
            "non_trainable": values(self.model.non_trainable_variables),
            "sr_adam": values(self.sr_optimizer.variables),
            "hg_adam": values(self.hg_optimizer.variables),
        }

    def sync(self):
        """Writes the state into the model's and the optimizers' Keras variables."""
        pairs = (
            (self.sr_variables, "sr"),
            (self.hg_variables, "hg"),
            (self.model.non_trainable_variables, "non_trainable"),
            (self.sr_optimizer.variables, "sr_adam"),
            (self.hg_optimizer.variables, "hg_adam"),
        )
        for variables, key in pairs:
            for variable, value in zip(variables, self.state[key]):
                variable.assign(value)

    def _trainable_values(self, sr, hg):
        """The SR and hourglass values in `model.trainable_variables` order."""
        values = [None] * (len(sr) + len(hg))
        for i, v in zip(self._sr_positions, sr):
            values[i] = v
        for i, v in zip(self._hg_positions, hg):
            values[i] = v
        return values

    def _loss(self, sr, hg, non_trainable, batch):
        outputs, non_trainable = self.model.stateless_call(
            self._trainable_values(sr, hg), non_trainable, batch["lr"]
        )
        c = self.config
        loss, terms = dic_losses(
            outputs, batch["hr"], batch["heatmaps"], c.pixel_weight, c.heatmap_weight,
            c.pixel_loss_mode,
        )
        return loss, (terms, non_trainable)

    def _apply(self, name, optimizer, state, grads, values, learning_rate):
        adam = list(state[name])
        adam[self._lr_index[name]] = learning_rate.astype(adam[self._lr_index[name]].dtype)
        return optimizer.stateless_apply(adam, grads, values)

    def _train_step(self, train_hourglass, state, batch, learning_rate):
        """Pure step: `(state, batch [B, ...], scalar learning rate) -> (state, logs)`."""
        grad_fn = jax.value_and_grad(self._loss, argnums=(0, 1), has_aux=True)
        (loss, (terms, non_trainable)), (sr_grads, hg_grads) = grad_fn(
            state["sr"], state["hg"], state["non_trainable"], batch
        )
        sr, sr_adam = self._apply("sr_adam", self.sr_optimizer, state, sr_grads, state["sr"], learning_rate)
        new_state = dict(state, sr=sr, sr_adam=sr_adam, non_trainable=non_trainable)
        if train_hourglass:
            hg, hg_adam = self._apply(
                "hg_adam", self.hg_optimizer, state, hg_grads, state["hg"], learning_rate
            )
            new_state.update(hg=hg, hg_adam=hg_adam)
        leaves = [loss] + jax.tree_util.tree_leaves((sr_grads, hg_grads))
        finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))
        new_state = jax.tree_util.tree_map(
            lambda new, old: jnp.where(finite, new, old), new_state, state
        )
        logs = dict(terms, loss=loss, finite=finite.astype("float32"))
        return new_state, logs

    def step(self, batch, step):
        """Runs optimizer step number `step` (0-based) on a batch.

        Args:
            batch: dict with `lr` [B, h, w, 3], `hr` [B, 8h, 8w, 3] and
                `heatmaps` [B, 2h, 2w, K] (numpy or JAX arrays; other keys are
                ignored).
            step: the step number; it selects the learning rate and whether
                the hourglass is updated.

        Returns:
            The logs as Python floats: `loss`, `pixel`, `heatmap`, `pixel_<t>`,
            `heatmap_<t>`, and `skipped` (1.0 when a non-finite loss or
            gradient prevented the update).
        """
        inputs = {k: jnp.asarray(batch[k], dtype="float32") for k in BATCH_KEYS}
        learning_rate = jnp.asarray(self.config.learning_rate_at(step), dtype="float32")
        run = self._steps[self.config.hourglass_trains_at(step)]
        self.state, logs = run(self.state, inputs, learning_rate)
        logs = {k: float(v) for k, v in jax.device_get(logs).items()}
        logs["skipped"] = 1.0 - logs.pop("finite")
        return logs

    def fit(self, data, num_steps, start_step=0, batch_size=None, on_step=None):
        """Runs steps `start_step .. num_steps - 1` on `data` and syncs the model.

        Args:
            data: a `keras.utils.PyDataset` of batch dicts (e.g.
                `FacePyDataset`; its epochs repeat, with `on_epoch_end` between
                them), or a dict of arrays with `BATCH_KEYS` sliced into
                batches of `batch_size` in order, cycling.
            num_steps: the step number to stop at.
            start_step: the first step number.
            batch_size: batch size, for a dict of arrays only.
            on_step: optional `on_step(step, logs)` called after every step.

        Returns:
            The logs of the last step.
        """
        logs = {}
        for step, batch in zip(range(start_step, num_steps), iterate_batches(data, batch_size)):
            logs = self.step(batch, step)
            if on_step is not None:
                on_step(step, logs)
        self.sync()
        return logs


def iterate_batches(data, batch_size=None):
    """Endless batch dicts from a `PyDataset` or from a dict of arrays.

    Args:
        data: a `keras.utils.PyDataset` yielding dicts, or a dict of arrays
            `[N, ...]` with at least `BATCH_KEYS`.
        batch_size: the batch size for a dict of arrays (the last partial
            batch of each pass is dropped).
    """
    if isinstance(data, keras.utils.PyDataset):
        while True:
            for index in range(len(data)):
                yield data[index]
            data.on_epoch_end()
    if not batch_size:
        raise ValueError("iterate_batches: a dict of arrays needs batch_size.")
    count = len(data[BATCH_KEYS[0]])
    if count < batch_size:
        raise ValueError(f"iterate_batches: {count} examples make no batch of {batch_size}.")
    while True:
        for start in range(0, count - batch_size + 1, batch_size):
            yield {k: np.asarray(data[k][start:start + batch_size]) for k in BATCH_KEYS}
