"""Rematerialisation (`DIC(remat=...)`): the same loss and gradients, recomputed."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dic_tf.layers import AttentiveFeedbackBlock
from dic_tf.models import DIC, build_dic
from dic_tf.models.dic_config import REMAT_MODES, DICConfig
from dic_tf.training.losses import dic_losses


def _loss_and_gradients(model, batch):
    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss, _ = dic_losses(model(batch["lr"]), batch["hr"], batch["heatmaps"])
        return loss, tape.gradient(loss, model.trainable_variables)

    loss, grads = step()
    return float(loss), [np.asarray(g) for g in grads]


@pytest.fixture(scope="module")
def reference():
    rng = np.random.default_rng(0)
    batch = {
        "lr": rng.normal(0, 0.2, (2, 16, 16, 3)).astype("float32"),
        "hr": rng.normal(0, 0.2, (2, 128, 128, 3)).astype("float32"),
        "heatmaps": rng.uniform(0, 1, (2, 32, 32, 68)).astype("float32"),
    }
    keras.utils.set_random_seed(0)
    model = build_dic(DICConfig.tiny())
    return batch, model, _loss_and_gradients(model, batch)


@pytest.mark.parametrize("remat", [m if m == "blocks" else pytest.param(m, marks=pytest.mark.slow)
                                   for m in REMAT_MODES if m != "none"])
def test_remat_gives_the_gradients_of_the_stored_step(remat, reference, record_error):
    batch, stored, (loss, grads) = reference
    model = build_dic(DICConfig.tiny(), remat=remat)
    # Checkpoints and the official-weight converter address the weights by path
    # (below the model's own, uniquified name).
    paths = [[v.path.split("/", 1)[1] for v in m.weights] for m in (model, stored)]
    assert paths[0] == paths[1]
    model.set_weights(stored.get_weights())
    remat_loss, remat_grads = _loss_and_gradients(model, batch)
    assert remat_loss == pytest.approx(loss, rel=1e-6)
    worst = max(
        np.linalg.norm(a - b) / max(np.linalg.norm(a), 1e-30) for a, b in zip(grads, remat_grads)
    )
    record_error(f"remat={remat} gradients (tiny, TF)", worst, 1e-5)
    assert worst <= 1e-5


def test_remat_is_part_of_the_model_config():
    model = DIC(DICConfig.tiny(), remat="blocks")
    clone = DIC.from_config(model.get_config())
    assert clone.remat == "blocks" and clone.config == model.config
    model = DIC(DICConfig.tiny(), remat="groups")
    assert model.first_block.remat_groups and model.block.remat_groups
    block = AttentiveFeedbackBlock.from_config(model.block.get_config())
    assert block.remat_groups and block.num_fusion_blocks == model.config.num_fusion_blocks
    with pytest.raises(ValueError, match="remat='steps'"):
        DIC(DICConfig.tiny(), remat="steps")
