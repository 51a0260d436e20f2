"""tf-keras-vis saliency of DIC against an explicit GradientTape gradient."""

import numpy as np
import pytest
import tensorflow as tf

from dic_tf.convert import load_official_weights
from dic_tf.evaluation import saliency
from dic_tf.models import build_dic
from dic_tf.models.dic_config import DICConfig
from dic_tf.utils.image_space import pixels_to_model_space
from tests import reference


@pytest.fixture(scope="module")
def model():
    arrays, meta = reference.load("dic_tiny")
    dic = build_dic(reference.dic_config(meta), lr_size=16)
    load_official_weights(dic, reference.state_dict(arrays, meta["spec"]))
    return dic


def _tape_saliency(model, lr, target):
    """|d score / d lr|, max over RGB, min-max normalised per image (tf-keras-vis' recipe)."""
    x = tf.constant(pixels_to_model_space(lr))
    with tf.GradientTape() as tape:
        tape.watch(x)
        outputs = model(x)
        if target.kind == "landmark":
            score = tf.reduce_max(outputs["heatmaps"][-1][..., target.index], axis=(1, 2))
        else:
            attention = tf.nn.softmax(outputs["components"][-1], axis=-1)
            score = tf.reduce_sum(attention[..., target.index], axis=(1, 2))
        total = tf.reduce_sum(score)
    grads = np.max(np.abs(tape.gradient(total, x).numpy()), axis=-1)
    low = grads.min(axis=(1, 2), keepdims=True)
    high = grads.max(axis=(1, 2), keepdims=True)
    return (grads - low) / (high - low + 1e-7)


@pytest.mark.parametrize("spec", ["landmark:30", "component:mouth"])
def test_saliency_matches_gradient_tape(model, spec, record_error):
    lr = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    (target,) = saliency.parse_targets(spec)
    maps = saliency.saliency_maps(model, lr, target, batch_size=2)
    expected = _tape_saliency(model, lr, target)
    assert maps.shape == (3, 16, 16) and maps.dtype == np.float32
    assert maps.min() >= 0.0 and maps.max() == pytest.approx(1.0, abs=1e-3)
    error = float(np.abs(maps - expected).max())
    record_error(f"saliency {spec} vs GradientTape (max abs)", error, 1e-4)
    assert error < 1e-4
    assert np.abs(maps[0] - maps[1]).max() > 1e-3  # per-image maps, not a batch average


def test_functional_wrapper_outputs(model):
    landmark = saliency.functional_wrapper(model, saliency.Target("landmark", 30), (16, 16))
    component = saliency.functional_wrapper(model, saliency.Target("component", 3), (16, 16))
    assert tuple(landmark.outputs[0].shape) == (None, 32, 32, 68)
    lr = pixels_to_model_space(np.full((1, 16, 16, 3), 128, np.uint8))
    attention = component.predict_on_batch([lr])
    np.testing.assert_allclose(attention.sum(axis=-1), 1.0, atol=1e-5)


def test_component_target_needs_two_steps():
    single = build_dic(DICConfig(**{**DICConfig.tiny().to_dict(), "num_steps": 1}), lr_size=16)
    with pytest.raises(ValueError, match="num_steps >= 2"):
        saliency.functional_wrapper(single, saliency.Target("component", 0), (16, 16))


def test_parse_targets():
    targets = saliency.parse_targets("landmark:30, component:mouth,component:3,component:0")
    assert [t.label for t in targets] == ["landmark_30", "component_mouth", "component_left_eye"]
    for spec, match in [
        ("landmark:68", r"\[0, 67\]"),
        ("component:chin", "unknown component"),
        ("eye:1", "expected 'landmark:INDEX'"),
        (" , ", "names no target"),
    ]:
        with pytest.raises(ValueError, match=match):
            saliency.parse_targets(spec)
